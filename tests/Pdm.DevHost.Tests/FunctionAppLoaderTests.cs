using Pdm.DevHost.Configuration;
using Pdm.Testing;

namespace Pdm.DevHost.Tests;

public sealed class FunctionAppLoaderTests : IDisposable
{
    private readonly TestFunctionApp _app = new();

    public void Dispose() => _app.Dispose();

    private static readonly Dictionary<string, string> RealAppSettings = new()
    {
        ["IOTHUB_EH_NAME"] = "pdm-hub",
        ["IOTHUB_CONSUMER_GROUP"] = "ingest",
        ["DEADLETTER_REPLAY_SCHEDULE"] = "0 */10 * * * *",
        ["PREDICT_SCHEDULE"] = "0 */1 * * * *",
        ["ALERT_TICK_SCHEDULE"] = "0 */1 * * * *",
        ["PUBLISH_ALERTS_SCHEDULE"] = "*/10 * * * * *",
        ["ROLLUP_SCHEDULE"] = "*/15 * * * * *",
        ["RETENTION_SCHEDULE"] = "0 17 3 * * *",
        ["WEBHOOK_DELIVERY_QUEUE"] = "webhook-deliveries",
    };

    [Fact]
    public void The_real_function_app_loads_with_its_triggers_retry_policies_and_host_settings()
    {
        var result = FunctionAppLoader.Load(Path.Combine(RepoPaths.Root, "functions"), RealAppSettings.GetValueOrDefault);

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Problems));
        var app = result.App!;
        Assert.True(app.Host.EnableProxyingHttpRequest);
        Assert.Equal("api", app.Host.RoutePrefix);
        Assert.Equal(256, app.Host.EventHubs.MaxEventBatchSize);

        var ingest = Assert.Single(app.Functions, f => f.Name == "Ingest");
        var events = Assert.IsType<EventHubTriggerBinding>(ingest.Trigger);
        Assert.Equal(("events", "pdm-hub", "ingest", false), (events.Name, events.EventHubName, events.ConsumerGroup, events.Binary));
        Assert.Equal(RetryStrategy.ExponentialBackoff, ingest.Retry!.Strategy);

        var replay = Assert.IsType<TimerTriggerBinding>(Assert.Single(app.Functions, f => f.Name == "ReplayDeadLetters").Trigger);
        Assert.Equal("0 */10 * * * *", replay.Schedule.Expression);

        var api = Assert.IsType<HttpTriggerBinding>(Assert.Single(app.Functions, f => f.Name == "Api").Trigger);
        Assert.Equal("{*path}", api.Route);
    }

    [Fact]
    public void Bad_json_is_reported_with_file_and_line()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Broken", "{\n  \"bindings\": [\n    { \"type\": \"timerTrigger\" \n  ]\n}");

        var result = FunctionAppLoader.Load(_app.Directory, _ => null);

        var problem = Assert.Single(result.Problems);
        Assert.Contains("Broken", problem, StringComparison.Ordinal);
        Assert.Contains("invalid JSON at line 4", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_binding_types_are_rejected_naming_function_and_type()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Deliver", """
            { "bindings": [
              { "type": "serviceBusTrigger", "direction": "in", "name": "item", "queueName": "q" } ] }
            """);
        _app.WriteFunction("Tick", """
            { "bindings": [
              { "type": "timerTrigger", "direction": "in", "name": "tick", "schedule": "0 * * * * *" },
              { "type": "blob", "direction": "out", "name": "out", "path": "x/y" } ] }
            """);

        var result = FunctionAppLoader.Load(_app.Directory, _ => null);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.StartsWith("Deliver/function.json bindings[0]: trigger type 'serviceBusTrigger' is not supported", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.StartsWith("Tick/function.json bindings[1]: binding type 'blob' is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_app_setting_and_missing_data_type_are_named()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Ingest", """
            { "bindings": [ { "type": "eventHubTrigger", "direction": "in", "name": "events",
                              "eventHubName": "%HUB_NAME%", "cardinality": "many" } ] }
            """);

        var result = FunctionAppLoader.Load(_app.Directory, _ => null);

        Assert.Contains("Ingest/function.json binding 'events': property 'eventHubName': app setting 'HUB_NAME' is not set", result.Problems);
        Assert.Contains(result.Problems, p => p.Contains("dataType '(absent)' is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void Timer_schedule_is_expanded_from_settings_and_parsed()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Tick", """
            { "bindings": [ { "type": "timerTrigger", "direction": "in", "name": "tick", "schedule": "%SCHEDULE%", "runOnStartup": true } ],
              "retry": { "strategy": "fixedDelay", "maxRetryCount": 2, "delayInterval": "00:00:03" } }
            """);

        var result = FunctionAppLoader.Load(_app.Directory, name => name == "SCHEDULE" ? "0 0 */2 * * *" : null);

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Problems));
        var tick = Assert.Single(result.App!.Functions);
        var timer = Assert.IsType<TimerTriggerBinding>(tick.Trigger);
        Assert.Equal("0 0 */2 * * *", timer.Schedule.Expression);
        Assert.True(timer.RunOnStartup);
        Assert.Equal(TimeSpan.FromSeconds(3), tick.Retry!.DelayBefore(1));
    }

    [Fact]
    public void Invalid_schedule_names_the_function_json_the_binding_and_the_schedule()
    {
        _app.WriteHost(TestFunctionApp.DefaultHostJson);
        _app.WriteFunction("Tick", """
            { "bindings": [ { "type": "timerTrigger", "direction": "in", "name": "tick", "schedule": "0 60 * * * *" } ] }
            """);

        var result = FunctionAppLoader.Load(_app.Directory, _ => null);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.StartsWith("Tick/function.json binding 'tick': property 'schedule': schedule '0 60 * * * *': "
            + "60 is higher than the maximum allowable value for the [Minute] field", StringComparison.Ordinal));
    }

    [Fact]
    public void Http_trigger_without_proxying_is_rejected()
    {
        _app.WriteHost("""{ "version": "2.0", "customHandler": { "description": { "defaultExecutablePath": "handler" } } }""");
        _app.WriteFunction("Api", """
            { "bindings": [ { "type": "httpTrigger", "direction": "in", "name": "req" }, { "type": "http", "direction": "out", "name": "res" } ] }
            """);

        var result = FunctionAppLoader.Load(_app.Directory, _ => null);

        Assert.Contains(result.Problems, p => p.Contains("enableProxyingHttpRequest", StringComparison.Ordinal));
    }
}
