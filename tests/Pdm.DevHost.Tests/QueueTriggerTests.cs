using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.DevHost.Tests;

/// <summary>The dev host's queue trigger against a real Azurite, driving the test handler as a child process.</summary>
[Trait("Category", "Integration")]
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class QueueTriggerTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private readonly TestFunctionApp _app = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly string _queueName = AzuriteFixture.UniqueQueueName();
    private QueueClient _queue = null!;

    public async Task InitializeAsync()
    {
        _queue = azurite.Clients.Queues.GetQueueClient(_queueName);
        await _queue.CreateAsync();
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    private async Task<FunctionsDevHost> StartAsync(string queueSettings, string extraFunctionJson = "")
    {
        _app.WriteHost($$"""
            { "version": "2.0", "customHandler": { "description": { "defaultExecutablePath": "handler" } },
              "extensions": { "queues": {{queueSettings}} } }
            """);
        _app.WriteFunction("Deliver", $$"""
            { "bindings": [ { "type": "queueTrigger", "direction": "in", "name": "item", "queueName": "%JOBS_QUEUE%",
                              "connection": "AzureWebJobsStorage" } ]{{extraFunctionJson}} }
            """);
        return await FunctionsDevHost.StartAsync(_app.Options(new Dictionary<string, string>
        {
            ["JOBS_QUEUE"] = _queueName,
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
        }), NullLoggerFactory.Instance, _timeout.Token);
    }

    // The host writes with Newtonsoft, which escapes only what JSON requires.
    private static readonly JsonSerializerOptions NewtonsoftLikeEscaping = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static string Item(JsonObject invocation) => (string)invocation["Payload"]!["Data"]!["item"]!;

    /// <summary>The message text the handler got: Data.item decoded once more, as the host serialized the string.</summary>
    private static string MessageText(JsonObject invocation) => JsonSerializer.Deserialize<string>(Item(invocation))!;

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            try
            {
                await Task.Delay(50, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Timed out waiting until {what}");
            }
        }
    }

    private async Task<int> QueueLengthAsync(QueueClient queue) =>
        (await queue.GetPropertiesAsync(_timeout.Token)).Value.ApproximateMessagesCount;

    [Fact]
    public async Task A_json_message_is_delivered_once_unchanged_with_queue_metadata_and_then_deleted()
    {
        await using var host = await StartAsync("""{ "maxPollingInterval": "00:00:00.5" }""");
        const string Message = """{"eventId":"e-1","type":"alert.opened","machine":"press-7"}""";
        var sent = (await _queue.SendMessageAsync(Message, _timeout.Token)).Value;

        await _app.WaitForAsync(_ => _app.Invocations("Deliver").Count == 1);
        await WaitUntilAsync(async () => await QueueLengthAsync(_queue) == 0, "the message is deleted");
        await Task.Delay(1500);

        var invocation = Assert.Single(_app.Invocations("Deliver"));
        Assert.Equal(Message, MessageText(invocation));
        Assert.Equal(JsonSerializer.Serialize(Message, NewtonsoftLikeEscaping), Item(invocation));
        var metadata = invocation["Payload"]!["Metadata"]!.AsObject();
        Assert.Equal("1", (string?)metadata["DequeueCount"]);
        Assert.Equal(JsonSerializer.Serialize(sent.MessageId), (string?)metadata["Id"]);
        foreach (var time in new[] { "InsertionTime", "ExpirationTime", "NextVisibleTime" })
        {
            Assert.True(DateTimeOffset.TryParse((string?)metadata[time], System.Globalization.CultureInfo.InvariantCulture, out _), time);
        }

        Assert.StartsWith("\"", (string?)metadata["PopReceipt"], StringComparison.Ordinal);
        Assert.Equal("Deliver", (string?)metadata["sys"]!["MethodName"]);
        Assert.Null(metadata["RetryContext"]);
        Assert.Equal((1, 0, 0), (host.Stats.QueueInvocations, host.Stats.QueueInvocationsFailed, host.Stats.QueueMessagesPoisoned));
    }

    [Fact]
    public async Task A_failing_message_is_redelivered_and_moved_to_poison_after_max_dequeue_count_ignoring_the_retry_policy()
    {
        await using var host = await StartAsync("""{ "maxDequeueCount": 3, "maxPollingInterval": "00:00:00.2" }""",
            """, "retry": { "strategy": "fixedDelay", "maxRetryCount": 4, "delayInterval": "00:00:00.01" }""");
        const string Message = """{"eventId":"e-2","fail":true}""";
        await _queue.SendMessageAsync(Message, _timeout.Token);

        var poison = azurite.Clients.Queues.GetQueueClient(_queueName + "-poison");
        await WaitUntilAsync(async () => (await poison.ExistsAsync(_timeout.Token)).Value && await QueueLengthAsync(poison) == 1,
            "the message is in the poison queue");
        await Task.Delay(1000);

        var invocations = _app.Invocations("Deliver");
        Assert.Equal(["1", "2", "3"], invocations.Select(i => (string?)i["Payload"]!["Metadata"]!["DequeueCount"]));
        Assert.All(invocations, i => Assert.Null(i["Payload"]!["Metadata"]!["RetryContext"]));
        Assert.All(invocations, i => Assert.Equal(Message, MessageText(i)));
        Assert.Equal(0, await QueueLengthAsync(_queue));
        var poisoned = Assert.Single((await poison.ReceiveMessagesAsync(32, cancellationToken: _timeout.Token)).Value);
        Assert.Equal(Message, poisoned.Body.ToString());
        Assert.Equal((3, 3, 1), (host.Stats.QueueInvocations, host.Stats.QueueInvocationsFailed, host.Stats.QueueMessagesPoisoned));
    }

    [Fact]
    public async Task A_message_failing_once_becomes_visible_after_the_visibility_timeout_and_succeeds_on_the_second_dequeue()
    {
        var options = """{ "visibilityTimeout": "00:00:02", "maxPollingInterval": "00:00:00.2" }""";
        await using var host = await StartAsyncFailingFirst(options);
        await _queue.SendMessageAsync("""{"eventId":"e-3"}""", _timeout.Token);

        await _app.WaitForAsync(_ => _app.Invocations("Deliver").Count == 2);
        await WaitUntilAsync(async () => await QueueLengthAsync(_queue) == 0, "the message is deleted");

        var invocations = _app.Invocations("Deliver");
        Assert.Equal([500, 200], invocations.Select(i => (int)i["Answered"]!));
        Assert.Equal(["1", "2"], invocations.Select(i => (string?)i["Payload"]!["Metadata"]!["DequeueCount"]));
        var first = DateTimeOffset.Parse((string)invocations[0]["Payload"]!["Metadata"]!["sys"]!["UtcNow"]!, System.Globalization.CultureInfo.InvariantCulture);
        var second = DateTimeOffset.Parse((string)invocations[1]["Payload"]!["Metadata"]!["sys"]!["UtcNow"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(second - first, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(6));
        Assert.Equal(0, host.Stats.QueueMessagesPoisoned);
    }

    private async Task<FunctionsDevHost> StartAsyncFailingFirst(string queueSettings)
    {
        _app.WriteHost($$"""
            { "version": "2.0", "customHandler": { "description": { "defaultExecutablePath": "handler" } },
              "extensions": { "queues": {{queueSettings}} } }
            """);
        _app.WriteFunction("Deliver", $$"""
            { "bindings": [ { "type": "queueTrigger", "direction": "in", "name": "item", "queueName": "{{_queueName}}" } ] }
            """);
        return await FunctionsDevHost.StartAsync(_app.Options(new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["TEST_HANDLER_FAIL_Deliver"] = "1",
        }), NullLoggerFactory.Instance, _timeout.Token);
    }

    [Fact]
    public async Task At_most_batch_size_plus_new_batch_threshold_messages_run_at_once()
    {
        for (var i = 0; i < 12; i++)
        {
            // Uneven run times, so one message of a batch finishes while the other still runs and the next batch joins it.
            await _queue.SendMessageAsync($$"""{"n":{{i}},"delayMs":{{(i % 2 == 0 ? 150 : 900)}}}""", _timeout.Token);
        }

        await using var host = await StartAsync("""{ "batchSize": 2, "newBatchThreshold": 1, "maxPollingInterval": "00:00:00.2" }""");

        await _app.WaitForAsync(_ => _app.Invocations("Deliver").Count == 12, TimeSpan.FromSeconds(30));

        var peak = _app.Invocations("Deliver").Max(i => (int)i["InFlight"]!);
        Assert.Equal(3, peak);
        Assert.Equal(12, host.Stats.QueueInvocations);
    }

    [Fact]
    public async Task Polling_backs_off_while_idle_and_a_new_message_is_picked_up_within_the_max_polling_interval()
    {
        await using var host = await StartAsync("""{ "maxPollingInterval": "00:00:01" }""");

        await Task.Delay(TimeSpan.FromSeconds(4));
        var idlePolls = host.QueuePolls("Deliver");
        var sentAt = DateTimeOffset.UtcNow;
        await _queue.SendMessageAsync("""{"eventId":"late"}""", _timeout.Token);
        await _app.WaitForAsync(_ => _app.Invocations("Deliver").Count == 1);
        var pickedUpAfter = DateTimeOffset.UtcNow - sentAt;

        // 100+200+400+800 ms, then one per second: about 6 polls in 4 s, where a fixed 100 ms would make 40.
        Assert.InRange(idlePolls, 4, 10);
        Assert.True(pickedUpAfter < TimeSpan.FromSeconds(2), $"picked up after {pickedUpAfter}");
    }

    [Fact]
    public async Task Text_that_is_not_base64_goes_to_poison_without_an_invocation_as_in_the_host()
    {
        await using var host = await StartAsync("""{ "maxPollingInterval": "00:00:00.2" }""");
        await azurite.RawQueues.GetQueueClient(_queueName).SendMessageAsync("""{"not":"base64"}""", _timeout.Token);

        var poison = azurite.RawQueues.GetQueueClient(_queueName + "-poison");
        await WaitUntilAsync(async () => (await poison.ExistsAsync(_timeout.Token)).Value && await QueueLengthAsync(poison) == 1,
            "the message is in the poison queue");

        Assert.Empty(_app.Invocations("Deliver"));
        Assert.Equal("""{"not":"base64"}""", Assert.Single((await poison.ReceiveMessagesAsync(cancellationToken: _timeout.Token)).Value).Body.ToString());
        Assert.Equal(1, host.Stats.QueueMessagesPoisoned);
    }

    [Fact]
    public async Task With_message_encoding_none_json_text_arrives_unchanged()
    {
        await using var host = await StartAsync("""{ "messageEncoding": "none", "maxPollingInterval": "00:00:00.2" }""");
        const string Message = """{"eventId":"e-4","text":"plain"}""";
        await azurite.RawQueues.GetQueueClient(_queueName).SendMessageAsync(Message, _timeout.Token);

        await _app.WaitForAsync(_ => _app.Invocations("Deliver").Count == 1);

        Assert.Equal(Message, MessageText(Assert.Single(_app.Invocations("Deliver"))));
    }
}
