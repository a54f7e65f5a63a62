using System.Text.Json;

namespace Pdm.Telemetry;

/// <summary>Decodes telemetry v1 messages and plain device JSON into machine samples (docs/telemetry-v1.md).</summary>
public static class TelemetryDecoder
{
    public const int MaxSamplesPerMessage = 1000;
    public const int MaxValuesPerSample = 256;
    public const int MaxIdLength = 64;
    /// <summary>After this many errors the rest of a message's errors are summarized in one line.</summary>
    public const int MaxErrorsPerMessage = 100;

    /// <summary>How far a sample may be ahead of the time the hub received it (gateway clocks drift).</summary>
    public static TimeSpan MaxClockSkew { get; } = TimeSpan.FromMinutes(5);

    /// <summary>Samples older than this come from a gateway whose clock was never set.</summary>
    public static DateTimeOffset EarliestTimestamp { get; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Decodes one message body. Never throws on bad input: every problem becomes a <see cref="DecodeError"/>
    /// and every good sample in the same message is still returned.
    /// </summary>
    public static DecodeResult Decode(ReadOnlySpan<byte> utf8Json, DecodeContext context)
    {
        var result = new DecodeResult();
        var decoder = new MessageDecoder(context, result);
        try
        {
            decoder.DecodeMessage(utf8Json);
        }
        catch (JsonException ex)
        {
            decoder.FailMessage("", "invalid JSON: " + JsonText.Shorten(ex.Message, 240));
        }
        catch (InvalidOperationException ex)
        {
            // Thrown by the reader for text it cannot unescape, such as a lone UTF-16 surrogate.
            decoder.FailMessage("", "invalid JSON text: " + JsonText.Shorten(ex.Message, 240));
        }
        return result;
    }
}
