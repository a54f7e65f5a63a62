using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging;
using Pdm.AzureStorage;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// A queueTrigger function, run like the Storage queues listener: polls with back-off, receives up to batchSize
/// messages and fetches the next batch once no more than newBatchThreshold are still running, invokes the function
/// once per message, deletes it on success, and on failure makes it visible again after visibilityTimeout, or moves it
/// to &lt;queue&gt;-poison once its dequeue count reaches maxDequeueCount. The function's retry policy does not apply:
/// the host supports retry policies only for Event Hubs, Timer, Kafka and Cosmos DB triggers; queues retry by
/// redelivery.
/// </summary>
internal sealed partial class QueueTrigger : IAsyncDisposable
{
    /// <summary>How long a received message stays hidden while the function runs; renewed halfway, as the host does.</summary>
    internal static readonly TimeSpan ProcessingVisibility = TimeSpan.FromMinutes(10);

    private readonly FunctionDefinition _function;
    private readonly QueueTriggerBinding _binding;
    private readonly QueueSettings _settings;
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly FunctionInvoker _invoker;
    private readonly DevHostCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _messageFinished = new(0);
    private int _inFlight;
    private long _polls;
    private bool _reportedMissingQueue;
    private bool _poisonQueueExists;
    private Task? _loop;

    /// <param name="queues">A client that does not decode message text: the trigger decodes it per messageEncoding itself,
    /// so a message that is not base64 can be moved to the poison queue as it is, as the host does.</param>
    public QueueTrigger(FunctionDefinition function, QueueSettings settings, QueueServiceClient queues, FunctionInvoker invoker,
        DevHostCounters counters, TimeProvider time, ILogger logger)
    {
        _binding = (QueueTriggerBinding)function.Trigger;
        _function = function with { Retry = null };
        _settings = settings;
        _queue = queues.GetQueueClient(_binding.QueueName);
        _poison = queues.GetQueueClient(_binding.PoisonQueueName);
        _invoker = invoker;
        _counters = counters;
        _time = time;
        _logger = logger;
        if (function.Retry is not null)
        {
            _logger.QueueRetryPolicyIgnored(function.Name);
        }
    }

    public string FunctionName => _function.Name;

    /// <summary>Receive requests made so far (empty or not): shows the back-off at work.</summary>
    public long Polls => Interlocked.Read(ref _polls);

    public void Start() => _loop = RunAsync(_stopping.Token);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        // Running invocations see the cancellation and hand their messages back; wait for them.
        while (Volatile.Read(ref _inFlight) > 0)
        {
            await _messageFinished.WaitAsync();
        }

        _stopping.Dispose();
        _messageFinished.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var backoff = new PollingBackoff(_settings.MaxPollingInterval);
        try
        {
            while (true)
            {
                while (Volatile.Read(ref _inFlight) > _settings.NewBatchThreshold)
                {
                    await _messageFinished.WaitAsync(stopping);
                }

                var messages = await ReceiveAsync(stopping);
                foreach (var message in messages)
                {
                    Interlocked.Increment(ref _inFlight);
                    _ = RunOneAsync(message, stopping);
                }

                var wait = backoff.Next(foundMessages: messages.Count > 0);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(CancellationToken stopping)
    {
        Interlocked.Increment(ref _polls);
        try
        {
            var messages = (await _queue.ReceiveMessagesAsync(_settings.BatchSize, ProcessingVisibility, stopping)).Value;
            _reportedMissingQueue = false;
            return messages;
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == QueueErrorCode.QueueNotFound.ToString())
        {
            // As the host: a queue that does not exist yet is an empty one; it is polled until someone creates it.
            if (!_reportedMissingQueue)
            {
                _reportedMissingQueue = true;
                _logger.QueueNotFound(_function.Name, _binding.QueueName);
            }

            return [];
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested && StorageClients.IsUnavailable(ex))
        {
            _logger.QueueReceiveFailed(_function.Name, _binding.QueueName, ex.Message);
            return [];
        }
    }

    private async Task RunOneAsync(QueueMessage message, CancellationToken stopping)
    {
        try
        {
            await ProcessAsync(message, stopping);
        }
        catch (Exception ex) when (ex is OperationCanceledException || StorageClients.IsUnavailable(ex))
        {
            // Storage went away mid-message: it reappears when its visibility runs out, as in the host.
            _logger.QueueMessageAbandoned(_function.Name, message.MessageId, ex.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            _messageFinished.Release();
        }
    }

    private async Task ProcessAsync(QueueMessage raw, CancellationToken stopping)
    {
        var receipt = new PopReceipt(raw.PopReceipt);
        var body = QueuePayload.DecodeBody(raw.Body.ToString(), _settings.Base64);
        if (body is null)
        {
            await MoveToPoisonAsync(raw, receipt, "its text is not base64 (messageEncoding is base64)", stopping);
            return;
        }

        if (raw.DequeueCount > _settings.MaxDequeueCount)
        {
            // Dequeued more often than allowed without a verdict (e.g. the host stopped mid-run): not run again.
            await MoveToPoisonAsync(raw, receipt, $"dequeue count {raw.DequeueCount} is above maxDequeueCount", stopping);
            return;
        }

        var message = new ReceivedQueueMessage
        {
            MessageId = raw.MessageId,
            PopReceipt = raw.PopReceipt,
            DequeueCount = raw.DequeueCount,
            Body = body,
            InsertedOn = raw.InsertedOn,
            ExpiresOn = raw.ExpiresOn,
            NextVisibleOn = raw.NextVisibleOn,
        };
        InvocationOutcome outcome;
        using (var renewing = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            var renewal = KeepHiddenAsync(raw.MessageId, receipt, renewing.Token);
            try
            {
                _counters.QueueInvocationStarted();
                outcome = await _invoker.InvokeAsync(_function, QueuePayload.Build(_binding, message), stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                await renewing.CancelAsync();
                await renewal;
                // Shutting down: hand the message back at once rather than leaving it hidden for minutes.
                await _queue.UpdateMessageAsync(raw.MessageId, receipt.Value, (string?)null, TimeSpan.Zero, CancellationToken.None);
                return;
            }

            await renewing.CancelAsync();
            await renewal;
        }

        if (outcome.Succeeded)
        {
            await _queue.DeleteMessageAsync(raw.MessageId, receipt.Value, stopping);
            return;
        }

        _counters.QueueInvocationFailed();
        if (raw.DequeueCount >= _settings.MaxDequeueCount)
        {
            await MoveToPoisonAsync(raw, receipt, $"it failed on dequeue {raw.DequeueCount} of {_settings.MaxDequeueCount}: {outcome.Error}",
                stopping);
            return;
        }

        _logger.QueueMessageFailed(_function.Name, raw.MessageId, raw.DequeueCount, _settings.MaxDequeueCount, outcome.Error ?? "");
        await _queue.UpdateMessageAsync(raw.MessageId, receipt.Value, (string?)null, _settings.VisibilityTimeout, stopping);
    }

    /// <summary>Renews the message's invisibility halfway through each period while the function runs.</summary>
    private async Task KeepHiddenAsync(string messageId, PopReceipt receipt, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ProcessingVisibility / 2, _time, cancellationToken);
                var updated = await _queue.UpdateMessageAsync(messageId, receipt.Value, (string?)null, ProcessingVisibility,
                    cancellationToken);
                receipt.Value = updated.Value.PopReceipt;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (StorageClients.IsUnavailable(ex))
        {
            _logger.QueueMessageAbandoned(_function.Name, messageId, ex.Message);
        }
    }

    private async Task MoveToPoisonAsync(QueueMessage raw, PopReceipt receipt, string reason, CancellationToken stopping)
    {
        if (!_poisonQueueExists)
        {
            await _poison.CreateIfNotExistsAsync(cancellationToken: stopping);
            _poisonQueueExists = true;
        }

        // The text as it was stored, so the poison queue holds what the producer sent (still base64 when it was).
        await _poison.SendMessageAsync(raw.Body.ToString(), stopping);
        await _queue.DeleteMessageAsync(raw.MessageId, receipt.Value, stopping);
        _counters.QueueMessagePoisoned();
        _logger.QueueMessagePoisoned(_function.Name, raw.MessageId, _binding.PoisonQueueName, reason);
    }

    /// <summary>The message's current pop receipt: every visibility update issues a new one.</summary>
    private sealed class PopReceipt(string value)
    {
        private string _value = value;

        public string Value
        {
            get => Volatile.Read(ref _value);
            set => Volatile.Write(ref _value, value);
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7080, Level = LogLevel.Warning,
        Message = "{FunctionName} failed on dequeue {DequeueCount} of {MaxDequeueCount} for message {MessageId}; it is retried after visibilityTimeout: {Reason}")]
    public static partial void QueueMessageFailed(this ILogger logger, string functionName, string messageId, long dequeueCount,
        int maxDequeueCount, string reason);

    [LoggerMessage(EventId = 7081, Level = LogLevel.Error, Message = "{FunctionName}: message {MessageId} moved to {PoisonQueue} because {Reason}")]
    public static partial void QueueMessagePoisoned(this ILogger logger, string functionName, string messageId, string poisonQueue, string reason);

    [LoggerMessage(EventId = 7082, Level = LogLevel.Warning,
        Message = "{FunctionName}: queue {QueueName} does not exist (yet); polling until it does")]
    public static partial void QueueNotFound(this ILogger logger, string functionName, string queueName);

    [LoggerMessage(EventId = 7083, Level = LogLevel.Warning, Message = "{FunctionName}: receiving from {QueueName} failed: {Reason}")]
    public static partial void QueueReceiveFailed(this ILogger logger, string functionName, string queueName, string reason);

    [LoggerMessage(EventId = 7084, Level = LogLevel.Warning,
        Message = "{FunctionName}: message {MessageId} left to reappear when its visibility runs out: {Reason}")]
    public static partial void QueueMessageAbandoned(this ILogger logger, string functionName, string messageId, string reason);

    [LoggerMessage(EventId = 7085, Level = LogLevel.Warning,
        Message = "{FunctionName}: the retry policy in function.json is ignored for a queueTrigger, as in the host; "
            + "a failed message is retried by redelivery up to extensions.queues.maxDequeueCount")]
    public static partial void QueueRetryPolicyIgnored(this ILogger logger, string functionName);
}
