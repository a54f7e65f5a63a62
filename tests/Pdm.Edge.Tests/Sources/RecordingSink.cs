using System.Threading.Channels;
using Pdm.Edge.Configuration;

namespace Pdm.Edge.Tests.Sources;

/// <summary>A sink that hands readings to the test; every wait has a timeout, none is a fixed sleep.</summary>
internal sealed class RecordingSink : IReadingSink
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly Channel<SourceReading> _readings = Channel.CreateUnbounded<SourceReading>();

    public ValueTask WriteAsync(SourceReading reading, CancellationToken cancellationToken) => _readings.Writer.WriteAsync(reading, cancellationToken);

    public async Task<SourceReading> NextAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        return await _readings.Reader.ReadAsync(timeout.Token);
    }

    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }
        }
    }

    /// <summary>Parses a document that must be valid, for tests that need compiled source settings.</summary>
    public static EdgeConfiguration Configuration(string json)
    {
        var result = EdgeConfigurationParser.Parse(json);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Configuration;
    }
}
