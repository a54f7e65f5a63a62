namespace Pdm.Telemetry;

/// <summary>Decodes telemetry v1 and plain device JSON into machine samples (implementation in progress).</summary>
public static class TelemetryDecoder
{
    /// <summary>
    /// Decodes one message body. Never throws on bad input: every problem becomes a <see cref="DecodeError"/>
    /// and every good sample in the same message is still returned.
    /// </summary>
    public static DecodeResult Decode(ReadOnlySpan<byte> utf8Json, DecodeContext context)
    {
        _ = context;
        var result = new DecodeResult();
        if (utf8Json.IsEmpty)
        {
            result.Errors.Add(new DecodeError("", "empty message body"));
        }
        return result;
    }
}
