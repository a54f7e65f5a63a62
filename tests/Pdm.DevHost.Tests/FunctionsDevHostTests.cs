using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.DevHost.Tests;

/// <summary>The dev host driving a real child-process handler (tests/Pdm.DevHost.Tests.Handler) that records what it gets.</summary>
[Trait("Category", "Integration")]
public sealed class FunctionsDevHostTests : IDisposable
{
    private const string TimerFunction = """
        { "bindings": [ { "type": "timerTrigger", "direction": "in", "name": "tick", "schedule": "%TICK_SCHEDULE%" } ],
          "retry": { "strategy": "fixedDelay", "maxRetryCount": 3, "delayInterval": "00:00:00.05" } }
        """;

    private const string IngestFunction = """
        { "bindings": [ { "type": "eventHubTrigger", "direction": "in", "name": "events", "eventHubName": "hub",
                          "consumerGroup": "ingest", "cardinality": "many", "dataType": "string" } ],
          "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 2, "minimumInterval": "00:00:00.05", "maximumInterval": "00:00:00.1" } }
        """;

    private const string ApiFunction = """
        { "bindings": [ { "type": "httpTrigger", "direction": "in", "name": "req", "route": "devices/{id}", "methods": ["get", "post"] },
                        { "type": "http", "direction": "out", "name": "res" } ] }
        """;

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["TICK_SCHEDULE"] = "0 0 0 1 1 *",
        ["TEST_SETTING"] = "from-app-settings",
    };

    private readonly TestFunctionApp _app = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(1));

    public FunctionsDevHostTests()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
    }

    public void Dispose()
    {
        _app.Dispose();
        _timeout.Dispose();
    }

    private Task<FunctionsDevHost> StartAsync(DevHostOptions options) =>
        FunctionsDevHost.StartAsync(options, NullLoggerFactory.Instance, _timeout.Token);

    private DevHostOptions WithMqtt(FakeMqttClient mqtt, Dictionary<string, string>? settings = null) => _app.Options(settings ?? Settings) with
    {
        Mqtt = new Pdm.Mqtt.MqttOptions { Host = "127.0.0.1", ClientId = "pdm-devhost-fake" },
        MqttClientFactory = _ => mqtt,
    };

    [Fact]
    public async Task Handler_is_started_with_worker_variables_and_app_settings()
    {
        _app.WriteFunction("Tick", TimerFunction);

        await using var host = await StartAsync(_app.Options(Settings));

        var start = Assert.Single(_app.Records(), r => (string?)r["Kind"] == "start");
        Assert.Equal(_app.Directory, (string?)start["AppRoot"]);
        Assert.Equal("from-app-settings", (string?)start["TestSetting"]);
        Assert.Equal(host.HandlerAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)start["Port"]);
        Assert.False(string.IsNullOrEmpty((string?)start["WorkerId"]));
    }

    [Fact]
    public async Task Timer_invocation_posts_timer_info_object_with_sys_metadata_and_host_headers()
    {
        _app.WriteFunction("Tick", TimerFunction);
        await using var host = await StartAsync(_app.Options(Settings));

        var outcome = await host.InvokeTimerAsync("Tick", _timeout.Token);

        Assert.True(outcome.Succeeded, outcome.Error);
        var call = Assert.Single(_app.Invocations("Tick"));
        var tick = call["Payload"]!["Data"]!["tick"]!;
        Assert.Equal(JsonValueKind.Object, tick.GetValueKind());
        Assert.True((bool)tick["Schedule"]!["AdjustForDST"]!);
        Assert.False((bool)tick["IsPastDue"]!);
        Assert.Equal(new DateTime(DateTime.UtcNow.Year + 1, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            tick["ScheduleStatus"]!["Next"]!.GetValue<DateTime>().ToUniversalTime());
        Assert.Equal("Tick", (string?)call["Payload"]!["Metadata"]!["sys"]!["MethodName"]);
        Assert.Equal(0, (int)call["Payload"]!["Metadata"]!["RetryContext"]!["RetryCount"]!);
        var headers = call["Headers"]!;
        Assert.True(Guid.TryParse((string?)headers["X-Azure-Functions-InvocationId"], out _));
        Assert.NotNull((string?)headers["X-Azure-Functions-HostVersion"]);
        Assert.StartsWith("Azure-Functions-Host/4.", (string?)headers["User-Agent"], StringComparison.Ordinal);
        Assert.StartsWith("application/json", (string?)headers["Content-Type"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timer_fires_on_its_schedule()
    {
        _app.WriteFunction("Tick", TimerFunction);

        await using var host = await StartAsync(_app.Options(new Dictionary<string, string>(Settings) { ["TICK_SCHEDULE"] = "* * * * * *" }));

        await _app.WaitForAsync(records => records.Count(r => (string?)r["Function"] == "Tick") >= 2);
    }

    [Fact]
    public async Task Failed_timer_run_is_retried_with_retry_context_until_it_succeeds()
    {
        _app.WriteFunction("Tick", TimerFunction);
        await using var host = await StartAsync(_app.Options(new Dictionary<string, string>(Settings) { ["TEST_HANDLER_FAIL_Tick"] = "2" }));

        var outcome = await host.InvokeTimerAsync("Tick", _timeout.Token);

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal(3, outcome.Attempts);
        var calls = _app.Invocations("Tick");
        Assert.Equal([500, 500, 200], calls.Select(c => (int)c["Answered"]!));
        var retryContexts = calls.Select(c => c["Payload"]!["Metadata"]!["RetryContext"]!).ToList();
        Assert.Equal([0, 1, 2], retryContexts.Select(r => (int)r["RetryCount"]!));
        Assert.All(retryContexts, r => Assert.Equal(3, (int)r["MaxRetryCount"]!));
        Assert.Null(retryContexts[0]["Exception"]);
        Assert.Contains("500", (string?)retryContexts[1]["Exception"]!["Message"], StringComparison.Ordinal);
        Assert.Equal(1, host.Stats.InvocationsSucceeded);
        Assert.Equal(2, host.Stats.InvocationsFailed);
    }

    [Fact]
    public async Task Unknown_timer_name_is_an_unsuccessful_outcome_listing_the_timers()
    {
        _app.WriteFunction("Tick", TimerFunction);
        await using var host = await StartAsync(_app.Options(Settings));

        var outcome = await host.InvokeTimerAsync("Nope", _timeout.Token);

        Assert.False(outcome.Succeeded);
        Assert.Contains("timer functions: Tick", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_requests_are_proxied_with_path_query_headers_and_body_and_the_answer_comes_back()
    {
        _app.WriteFunction("Api", ApiFunction);
        await using var host = await StartAsync(_app.Options(Settings));
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        using var content = new StringContent("""{"name":"pump"}""", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/devices/d%2F1?x=1&y=two") { Content = content };
        request.Headers.Add("X-Tenant", "acme");

        using var response = await client.SendAsync(request, _timeout.Token);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("X-Echo").Single());
        var echo = JsonNode.Parse(await response.Content.ReadAsStringAsync(_timeout.Token))!;
        Assert.Equal("POST", (string?)echo["Method"]);
        Assert.Equal("?x=1&y=two", (string?)echo["Query"]);
        Assert.Equal("""{"name":"pump"}""", (string?)echo["Body"]);
        Assert.Equal("acme", (string?)echo["Headers"]!["X-Tenant"]);
        Assert.True(Guid.TryParse((string?)echo["Headers"]!["X-Azure-Functions-InvocationId"], out _));
        Assert.NotNull((string?)echo["Headers"]!["X-Azure-Functions-HostVersion"]);
        Assert.StartsWith("/api/devices/d", (string?)echo["Path"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_routes_outside_the_functions_get_404_and_wrong_methods_405()
    {
        _app.WriteFunction("Api", ApiFunction);
        await using var host = await StartAsync(_app.Options(Settings));
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        using var unknown = await client.GetAsync(new Uri("api/other", UriKind.Relative), _timeout.Token);
        using var wrongMethod = await client.DeleteAsync(new Uri("api/devices/1", UriKind.Relative), _timeout.Token);

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.DoesNotContain(_app.Records(), r => (string?)r["Kind"] == "http");
    }

    [Fact]
    public async Task Device_messages_from_mqtt_reach_the_function_as_an_event_hubs_batch()
    {
        _app.WriteFunction("Ingest", IngestFunction);
        var mqtt = new FakeMqttClient();
        await using var host = await StartAsync(WithMqtt(mqtt));

        for (var i = 0; i < 3; i++)
        {
            mqtt.Receive($"devices/pump-1/messages/events/$.mid=m{i}&$.ct=application%2Fjson&$.cdid=spoofed&site=north", $$"""{"n":{{i}}}""");
        }

        await _app.WaitForAsync(_ => host.Stats.EventsDelivered == 3);
        Assert.Contains(("devices/+/messages/events/#", 1), mqtt.Subscriptions);
        Assert.Contains(("devices/+/modules/+/messages/events/#", 1), mqtt.Subscriptions);
        var calls = _app.Invocations("Ingest");
        var bodies = calls.SelectMany(c => JsonNode.Parse((string)c["Payload"]!["Data"]!["events"]!)!.AsArray())
            .Select(b => (string)b!).ToList();
        Assert.Equal(["""{"n":0}""", """{"n":1}""", """{"n":2}"""], bodies);
        var system = calls.SelectMany(c => JsonNode.Parse((string)c["Payload"]!["Metadata"]!["SystemPropertiesArray"]!)!.AsArray()).ToList();
        Assert.Equal(["m0", "m1", "m2"], system.Select(s => (string)s!["message-id"]!));
        Assert.All(system, s => Assert.Equal("pump-1", (string?)s!["iothub-connection-device-id"]));
        Assert.Equal([0L, 1L, 2L], system.Select(s => (long)s!["x-opt-sequence-number"]!));
        var properties = JsonNode.Parse((string)calls[0]["Payload"]!["Metadata"]!["PropertiesArray"]!)!.AsArray();
        Assert.Equal("north", (string?)properties[0]!["site"]);
        Assert.Equal(3, host.Stats.EventsReceived);
    }

    [Fact]
    public async Task A_batch_that_keeps_failing_is_retried_then_checkpointed_past_and_the_next_batch_is_delivered()
    {
        _app.WriteFunction("Ingest", IngestFunction);
        var mqtt = new FakeMqttClient();
        // maxRetryCount 2: three attempts, all answered 500.
        await using var host = await StartAsync(WithMqtt(mqtt, new Dictionary<string, string>(Settings) { ["TEST_HANDLER_FAIL_Ingest"] = "3" }));

        mqtt.Receive("devices/pump-1/messages/events/", "first");
        await _app.WaitForAsync(_ => host.Stats.BatchesDropped == 1);
        mqtt.Receive("devices/pump-1/messages/events/", "second");
        await _app.WaitForAsync(_ => host.Stats.EventsDelivered == 1);

        var calls = _app.Invocations("Ingest");
        Assert.Equal([500, 500, 500, 200], calls.Select(c => (int)c["Answered"]!));
        Assert.Equal([0, 1, 2], calls.Take(3).Select(c => (int)c["Payload"]!["Metadata"]!["RetryContext"]!["RetryCount"]!));
        Assert.Equal(["first", "first", "first", "second"],
            calls.Select(c => (string)JsonNode.Parse((string)c["Payload"]!["Data"]!["events"]!)!.AsArray().Single()!));
        Assert.Equal(1, host.Stats.EventsDropped);
    }

    [Fact]
    public async Task A_handler_that_dies_is_restarted_and_serves_the_next_invocation()
    {
        _app.WriteFunction("Tick", TimerFunction);
        await using var host = await StartAsync(_app.Options(Settings));
        var firstAddress = host.HandlerAddress;
        using var client = new HttpClient();

        try
        {
            await client.PostAsync(new Uri(firstAddress, "_test/exit"), null, _timeout.Token);
        }
        catch (HttpRequestException)
        {
            // The handler exits while answering; the connection drop is the expected signal.
        }

        await _app.WaitForAsync(records => records.Count(r => (string?)r["Kind"] == "start") == 2);
        await _app.WaitForAsync(_ => host.Stats.HandlerRestarts == 1);
        var outcome = await host.InvokeTimerAsync("Tick", _timeout.Token);
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.NotEqual(firstAddress, host.HandlerAddress);
    }

    [Fact]
    public async Task Configuration_problems_stop_the_start_and_are_all_listed()
    {
        _app.WriteFunction("Tick", TimerFunction.Replace("%TICK_SCHEDULE%", "every minute", StringComparison.Ordinal));
        _app.WriteFunction("Deliver", """{ "bindings": [ { "type": "queueTrigger", "name": "item" } ] }""");

        var error = await Assert.ThrowsAsync<DevHostException>(() => StartAsync(_app.Options(Settings)));

        Assert.Equal(2, error.Problems.Count);
        Assert.Contains(error.Problems, p => p.Contains("schedule 'every minute' has 2 fields", StringComparison.Ordinal));
        Assert.Empty(_app.Records());
    }
}
