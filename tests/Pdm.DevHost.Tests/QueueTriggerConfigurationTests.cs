using System.Text;
using System.Text.Json;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Handler;
using Pdm.DevHost.Triggers;

namespace Pdm.DevHost.Tests;

/// <summary>queueTrigger bindings and extensions.queues as loaded, the polling back-off and the payload shape.</summary>
public sealed class QueueTriggerConfigurationTests : IDisposable
{
    private readonly TestFunctionApp _app = new();

    public void Dispose() => _app.Dispose();

    private FunctionAppLoadResult Load(string hostJson, string functionJson, Dictionary<string, string>? settings = null)
    {
        _app.WriteHost(hostJson);
        _app.WriteFunction("Deliver", functionJson);
        return FunctionAppLoader.Load(_app.Directory, (settings ?? []).GetValueOrDefault);
    }

    [Fact]
    public void Queue_trigger_resolves_its_queue_name_from_app_settings_and_host_defaults_apply()
    {
        var result = Load(TestFunctionApp.DefaultHostJson, """
            { "bindings": [ { "type": "queueTrigger", "direction": "in", "name": "item", "queueName": "%JOBS_QUEUE%" } ] }
            """, new() { ["JOBS_QUEUE"] = "webhook-jobs" });

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Problems));
        var binding = Assert.IsType<QueueTriggerBinding>(Assert.Single(result.App!.Functions).Trigger);
        Assert.Equal(("item", "webhook-jobs", "AzureWebJobsStorage", "webhook-jobs-poison", false),
            (binding.Name, binding.QueueName, binding.Connection, binding.PoisonQueueName, binding.Binary));
        var queues = result.App.Host.Queues;
        Assert.Equal((16, 8, TimeSpan.FromMinutes(1), TimeSpan.Zero, 5, true),
            (queues.BatchSize, queues.NewBatchThreshold, queues.MaxPollingInterval, queues.VisibilityTimeout, queues.MaxDequeueCount, queues.Base64));
        Assert.Equal(24, queues.MaxInFlight);
    }

    [Fact]
    public void Host_json_queue_settings_are_read_and_new_batch_threshold_defaults_to_half_the_batch()
    {
        var result = Load("""
            { "version": "2.0", "extensions": { "queues": { "batchSize": 6, "maxPollingInterval": "00:00:02",
              "visibilityTimeout": "00:00:30", "maxDequeueCount": 3, "messageEncoding": "none" } } }
            """, """{ "bindings": [ { "type": "queueTrigger", "name": "item", "queueName": "jobs", "connection": "Other" } ] }""");

        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Problems));
        var queues = result.App!.Host.Queues;
        Assert.Equal((6, 3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 3, false),
            (queues.BatchSize, queues.NewBatchThreshold, queues.MaxPollingInterval, queues.VisibilityTimeout, queues.MaxDequeueCount, queues.Base64));
        Assert.Equal("Other", ((QueueTriggerBinding)result.App.Functions[0].Trigger).Connection);
    }

    [Theory]
    [InlineData("""{ "type": "queueTrigger", "name": "item" }""", "Deliver/function.json binding 'item': property 'queueName' is missing or empty")]
    [InlineData("""{ "type": "queueTrigger", "name": "item", "queueName": "Jobs--x" }""", "Deliver/function.json binding 'item': property 'queueName': 'Jobs--x' is not a storage queue name")]
    [InlineData("""{ "type": "queueTrigger", "name": "item", "queueName": "%MISSING%" }""", "app setting 'MISSING' is not set")]
    [InlineData("""{ "type": "queueTrigger", "name": "item", "queueName": "jobs", "dataType": "stream" }""", "dataType 'stream' is not supported")]
    public void Bad_queue_trigger_bindings_name_file_binding_and_field(string binding, string expected)
    {
        var result = Load(TestFunctionApp.DefaultHostJson, $$"""{ "bindings": [ {{binding}} ] }""");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{ "batchSize": 33 }""", "host.json extensions.queues: property 'batchSize' is 33; a receive takes at most 32 messages")]
    [InlineData("""{ "batchSize": 0 }""", "host.json extensions.queues: property 'batchSize' must be a whole number >= 1")]
    [InlineData("""{ "maxPollingInterval": "00:00:00.05" }""", "property 'maxPollingInterval' must be at least 100 ms")]
    [InlineData("""{ "maxDequeueCount": 0 }""", "property 'maxDequeueCount' must be a whole number >= 1")]
    [InlineData("""{ "messageEncoding": "utf8" }""", "property 'messageEncoding' is 'utf8'; use \"base64\" or \"none\"")]
    public void Bad_queue_settings_in_host_json_are_reported(string queues, string expected)
    {
        var result = Load($$"""{ "version": "2.0", "extensions": { "queues": {{queues}} } }""",
            """{ "bindings": [ { "type": "queueTrigger", "name": "item", "queueName": "jobs" } ] }""");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Back_off_doubles_from_100_ms_up_to_the_maximum_and_resets_when_messages_arrive()
    {
        var backoff = new PollingBackoff(TimeSpan.FromSeconds(1));

        var idle = Enumerable.Range(0, 6).Select(_ => backoff.Next(foundMessages: false).TotalMilliseconds).ToList();
        var afterMessages = backoff.Next(foundMessages: true);
        var idleAgain = backoff.Next(foundMessages: false);

        Assert.Equal([100, 200, 400, 800, 1000, 1000], idle);
        Assert.Equal(TimeSpan.Zero, afterMessages);
        Assert.Equal(TimeSpan.FromMilliseconds(100), idleAgain);
    }

    [Fact]
    public void Payload_holds_the_message_text_json_serialized_into_a_string_and_string_encoded_metadata()
    {
        var binding = new QueueTriggerBinding { Name = "item", QueueName = "jobs", Connection = "AzureWebJobsStorage", Binary = false };
        var inserted = new DateTimeOffset(2026, 3, 1, 10, 0, 0, 123, TimeSpan.Zero);
        var message = new ReceivedQueueMessage
        {
            MessageId = "id-1",
            PopReceipt = "receipt",
            DequeueCount = 2,
            Body = Encoding.UTF8.GetBytes("""{"event":"alert.opened","note":"<ü>"}"""),
            InsertedOn = inserted,
            ExpiresOn = inserted.AddDays(7),
            NextVisibleOn = inserted.AddMinutes(10),
        };

        var body = FunctionInvoker.Serialize(QueuePayload.Build(binding, message), "Deliver", inserted.UtcDateTime, Guid.Empty, null);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;

        var item = root.GetProperty("Data").GetProperty("item").GetString()!;
        Assert.Equal("\"{\\\"event\\\":\\\"alert.opened\\\",\\\"note\\\":\\\"<ü>\\\"}\"", item);
        Assert.Equal("""{"event":"alert.opened","note":"<ü>"}""", JsonSerializer.Deserialize<string>(item));
        var metadata = root.GetProperty("Metadata");
        Assert.Equal("2", metadata.GetProperty("DequeueCount").GetString());
        Assert.Equal("\"id-1\"", metadata.GetProperty("Id").GetString());
        Assert.Equal("\"receipt\"", metadata.GetProperty("PopReceipt").GetString());
        Assert.Equal("2026-03-01T10:00:00+00:00", metadata.GetProperty("InsertionTime").GetString());
        Assert.Equal("2026-03-08T10:00:00+00:00", metadata.GetProperty("ExpirationTime").GetString());
        Assert.Equal("2026-03-01T10:10:00+00:00", metadata.GetProperty("NextVisibleTime").GetString());
        Assert.False(metadata.TryGetProperty("RetryContext", out _));
    }

    [Theory]
    [InlineData("eyJhIjoxfQ==", true, """{"a":1}""")]
    [InlineData("""{"a":1}""", false, """{"a":1}""")]
    [InlineData("""{"a":1}""", true, null)]
    public void Message_text_is_decoded_per_message_encoding(string text, bool base64, string? expected)
    {
        var body = QueuePayload.DecodeBody(text, base64);

        Assert.Equal(expected, body is null ? null : Encoding.UTF8.GetString(body));
    }
}
