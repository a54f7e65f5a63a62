using System.Text;
using Pdm.Messaging.Storage;

namespace Pdm.Messaging.Tests;

[Collection(StorageAzuriteCollectionDefinition.Name)]
[Trait("Category", "Integration")]
public sealed class StorageQueueTests(StorageAzuriteFixture azurite)
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    private async Task<QueueClient> NewQueueAsync(QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var queue = azurite.Account.GetQueue(StorageAzuriteFixture.UniqueName("q"), encoding);
        Assert.True(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    [Fact]
    public async Task Creating_an_existing_queue_reports_it_already_existed()
    {
        var queue = await NewQueueAsync();

        Assert.False(await queue.CreateIfNotExistsAsync());
    }

    [Fact]
    public async Task A_sent_message_is_received_once_and_deleted()
    {
        var queue = await NewQueueAsync();
        const string text = """{"tenant":"acme","alert":"bearing <temp> & vibration"}""";

        var sent = await queue.SendAsync(text);
        var received = Assert.Single(await queue.ReceiveAsync(maxMessages: 10, visibilityTimeout: TimeSpan.FromMinutes(1)));

        Assert.Equal(sent.Id, received.Id);
        Assert.Equal(text, received.Text);
        Assert.Null(received.DecodeError);
        Assert.Equal(1, received.DequeueCount);
        Assert.Equal(sent.InsertionTime, received.InsertionTime);
        Assert.True(received.ExpirationTime > received.InsertionTime.AddDays(6));
        Assert.True(received.NextVisibleTime > DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.Empty(await queue.ReceiveAsync());

        Assert.True(await queue.DeleteAsync(received.Id, received.PopReceipt));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.False(await queue.DeleteAsync(received.Id, received.PopReceipt));
    }

    [Fact]
    public async Task An_undeleted_message_comes_back_with_a_higher_dequeue_count_after_its_visibility_timeout()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("retry me");

        var first = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromSeconds(1)));
        var second = await ReceiveOneWithinAsync(queue, WaitLimit);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(2, second.DequeueCount);
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
        Assert.Equal("retry me", second.Text);
    }

    [Fact]
    public async Task Messages_are_base64_encoded_utf8_on_the_wire_as_the_functions_queue_trigger_expects()
    {
        var queue = await NewQueueAsync();
        var plainView = azurite.Account.GetQueue(queue.Name, QueueMessageEncoding.None);
        const string text = """{"device":"pump-7","note":"Überdruck ≥ 5 bar"}""";

        await queue.SendAsync(text);

        var onTheWire = Assert.Single(await plainView.PeekAsync());
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(text)), onTheWire.Text);
        Assert.Equal(text, Assert.Single(await queue.PeekAsync()).Text);
    }

    [Fact]
    public async Task A_message_that_is_not_base64_is_received_with_a_decode_error_and_its_raw_text()
    {
        var queue = await NewQueueAsync();
        var plainWriter = azurite.Account.GetQueue(queue.Name, QueueMessageEncoding.None);
        await plainWriter.SendAsync("not base64 {at all}");

        var received = Assert.Single(await queue.ReceiveAsync());

        Assert.Equal("not base64 {at all}", received.Text);
        Assert.Equal("The message text is not valid base64.", received.DecodeError);
    }

    [Fact]
    public async Task Plain_messages_with_xml_special_characters_round_trip()
    {
        var queue = await NewQueueAsync(QueueMessageEncoding.None);
        const string text = "<alert level=\"high\">a & b > c</alert>";

        await queue.SendAsync(text);

        Assert.Equal(text, Assert.Single(await queue.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Plain_messages_with_characters_xml_cannot_carry_are_refused_before_sending()
    {
        var queue = azurite.Account.GetQueue("plain", QueueMessageEncoding.None);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync("bell \u0007"));

        Assert.Contains("Base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_over_64_KiB_once_encoded_is_refused_before_sending()
    {
        var queue = azurite.Account.GetQueue("unused");

        // 50,000 bytes of text become 66,668 base64 characters.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(new string('x', 50_000)));

        Assert.Contains("66668 bytes once base64-encoded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delayed_message_is_counted_but_neither_received_nor_peeked_until_due()
    {
        var queue = await NewQueueAsync();

        var sent = await queue.SendAsync("later", visibilityDelay: TimeSpan.FromMinutes(5));

        Assert.True(sent.NextVisibleTime > DateTimeOffset.UtcNow.AddMinutes(4));
        Assert.Empty(await queue.ReceiveAsync(32));
        Assert.Empty(await queue.PeekAsync(32));
        Assert.Equal(1, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task Peeking_leaves_the_message_visible_and_its_dequeue_count_unchanged()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("one");
        await queue.SendAsync("two");

        var peeked = await queue.PeekAsync(maxMessages: 5);
        var received = await queue.ReceiveAsync(maxMessages: 5);

        Assert.Equal(["one", "two"], peeked.Select(m => m.Text).Order());
        Assert.All(peeked, m => Assert.Equal(0, m.DequeueCount));
        Assert.Equal(["one", "two"], received.Select(m => m.Text).Order());
    }

    [Fact]
    public async Task Updating_visibility_to_zero_returns_the_message_with_new_text_and_invalidates_the_old_receipt()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("attempt 1");
        var received = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromMinutes(1)));

        var updated = await queue.UpdateVisibilityAsync(received.Id, received.PopReceipt, TimeSpan.Zero, "attempt 2");

        Assert.NotEqual(received.PopReceipt, updated.PopReceipt);
        var again = await ReceiveOneWithinAsync(queue, WaitLimit);
        Assert.Equal("attempt 2", again.Text);
        Assert.False(await queue.DeleteAsync(received.Id, received.PopReceipt));
        Assert.True(await queue.DeleteAsync(again.Id, again.PopReceipt));
    }

    [Fact]
    public async Task Shortening_visibility_without_new_text_keeps_the_text()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("keep me");
        var received = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromMinutes(5)));

        var updated = await queue.UpdateVisibilityAsync(received.Id, received.PopReceipt, TimeSpan.FromSeconds(1));

        Assert.True(updated.NextVisibleTime < DateTimeOffset.UtcNow.AddMinutes(1));
        var again = await ReceiveOneWithinAsync(queue, WaitLimit);
        Assert.Equal("keep me", again.Text);
        Assert.Equal(2, again.DequeueCount);
    }

    [Fact]
    public async Task Receiving_from_a_missing_queue_fails_with_queue_not_found()
    {
        var queue = azurite.Account.GetQueue(StorageAzuriteFixture.UniqueName("missing"));

        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.ReceiveAsync());

        Assert.Equal(404, error.Status);
        Assert.Equal("QueueNotFound", error.ErrorCode);
    }

    [Fact]
    public async Task A_delay_beyond_the_time_to_live_is_a_bad_request_with_its_error_code()
    {
        var queue = await NewQueueAsync();

        var error = await Assert.ThrowsAsync<StorageRequestException>(() => queue.SendAsync(
            "x", visibilityDelay: TimeSpan.FromMinutes(10), timeToLive: TimeSpan.FromMinutes(1)));

        Assert.Equal(400, error.Status);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
        Assert.False(string.IsNullOrEmpty(error.ServiceMessage));
    }

    [Fact]
    public async Task Receive_counts_outside_one_to_thirty_two_are_refused()
    {
        var queue = azurite.Account.GetQueue("unused");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(33));
    }

    private static async Task<QueueMessage> ReceiveOneWithinAsync(QueueClient queue, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        while (true)
        {
            var messages = await queue.ReceiveAsync(cancellationToken: timeout.Token);
            if (messages.Count > 0)
            {
                return Assert.Single(messages);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token);
        }
    }
}
