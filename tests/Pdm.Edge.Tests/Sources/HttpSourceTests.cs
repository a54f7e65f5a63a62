using Pdm.Edge.Sources;

namespace Pdm.Edge.Tests.Sources;

[Trait("Category", "Integration")]
public sealed class HttpSourceTests : IAsyncLifetime
{
    private readonly RoutedHttpServer _server = new();
    private readonly HttpClient _http = new();
    private readonly RecordingSink _sink = new();
    private readonly CancellationTokenSource _stop = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Endpoint_is_polled_and_each_response_becomes_a_reading()
    {
        _server.Map("/api/status", n => (200, $$"""
            { "readAt": "2026-11-21T08:15:0{{n % 10}}Z", "electrical": { "powerW": 1500 }, "loadPercent": "42.5" }
            """));
        var source = Source("/api/status?key=secret", """
            "headers": { "X-Api-Key": "k-123" },
            "timestampPath": "$.readAt",
            "sensors": { "power": { "path": "$.electrical.powerW", "unit": "W" }, "load": "$.loadPercent" }
            """);

        var run = source.RunAsync(_sink, _stop.Token);
        var first = await _sink.NextAsync();
        var second = await _sink.NextAsync();

        Assert.Equal("CHILLER_2", first.MachineId);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 0, TimeSpan.Zero), first.Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 15, 1, TimeSpan.Zero), second.Timestamp);
        Assert.Equal(["power", "load"], first.Values.Select(v => v.Sensor));
        Assert.Equal(1.5, first.Values[0].Value, 9);
        Assert.Equal(42.5, first.Values[1].Value);
        Assert.All(_server.Requests, r => Assert.Equal("k-123", r.Headers["X-Api-Key"]));
        await RecordingSink.UntilAsync(() => source.Status.Reads >= 2, "two reads are counted");
        Assert.Equal(SourceState.Connected, source.Status.State);
        Assert.Equal(0, source.Status.Errors);

        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
        Assert.Equal(SourceState.Stopped, source.Status.State);
    }

    [Fact]
    public async Task Failing_endpoint_makes_the_source_failing_with_the_reason_until_it_answers_again()
    {
        _server.Map("/flaky", n => n < 2 ? (503, """{ "error": "warming up" }""") : (200, """{ "load": 12 }"""));
        var source = Source("/flaky?token=hidden", """ "sensors": { "load": "$.load" } """);

        var run = source.RunAsync(_sink, _stop.Token);
        await RecordingSink.UntilAsync(() => source.Status.State == SourceState.Failing, "the source is failing");
        var failing = source.Status;
        var reading = await _sink.NextAsync();

        Assert.Equal($"{_server.Url("/flaky")} answered 503 Service Unavailable", failing.LastError);
        Assert.DoesNotContain("hidden", failing.LastError, StringComparison.Ordinal);
        Assert.NotNull(failing.LastErrorAt);
        Assert.Equal(12, Assert.Single(reading.Values).Value);
        await RecordingSink.UntilAsync(() => source.Status.State == SourceState.Connected, "the source is connected again");
        Assert.Equal(2, source.Status.Errors);

        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
    }

    [Fact]
    public async Task Response_that_is_not_json_is_a_failure_with_the_reason()
    {
        _server.Map("/html", _ => (200, "<html>maintenance</html>"));
        var source = Source("/html", """ "sensors": { "load": "$.load" } """);

        var run = source.RunAsync(_sink, _stop.Token);
        await RecordingSink.UntilAsync(() => source.Status.Errors >= 1, "the failure is counted");

        Assert.Equal(SourceState.Failing, source.Status.State);
        Assert.Contains("response is not JSON", source.Status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, source.Status.Reads);

        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
    }

    [Fact]
    public async Task Endpoint_that_does_not_answer_in_time_is_a_failure()
    {
        var slow = new TaskCompletionSource();
        _server.MapAsync("/slow", async _ =>
        {
            await slow.Task.WaitAsync(RecordingSink.Timeout);
            return (200, """{ "load": 1 }""");
        });
        var source = Source("/slow", """ "timeoutMs": 200, "sensors": { "load": "$.load" } """);

        var run = source.RunAsync(_sink, _stop.Token);
        await RecordingSink.UntilAsync(() => source.Status.Errors >= 1, "the timeout is counted");
        slow.SetResult();

        Assert.Equal($"{_server.Url("/slow")} did not answer within 200 ms", source.Status.LastError);
        await _stop.CancelAsync();
        await run.WaitAsync(RecordingSink.Timeout);
    }

    private HttpSource Source(string pathAndQuery, string settings)
    {
        var configuration = RecordingSink.Configuration($$"""
            {
              "schemaVersion": 1,
              "gatewayId": "plant-a-gw1",
              "http": [ { "name": "chiller-api", "url": "{{_server.Url(pathAndQuery)}}", "pollIntervalMs": 100, "machineId": "CHILLER_2", {{settings}} } ]
            }
            """);
        return new HttpSource(configuration.Http[0], _http);
    }
}
