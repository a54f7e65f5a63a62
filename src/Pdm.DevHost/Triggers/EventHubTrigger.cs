using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pdm.DevHost.Configuration;
using Pdm.DevHost.Events;
using Pdm.DevHost.Handler;

namespace Pdm.DevHost.Triggers;

/// <summary>
/// An eventHubTrigger function, run like the Event Hubs listener: one sequential processor per partition
/// that takes up to maxEventBatchSize waiting events, invokes the function (with its retry policy), and then
/// moves past the batch whatever the outcome, because Event Hubs checkpoints failed batches too.
/// </summary>
internal sealed partial class EventHubTrigger : IAsyncDisposable
{
    private readonly FunctionDefinition _function;
    private readonly EventHubTriggerBinding _binding;
    private readonly EventHubSettings _settings;
    private readonly FunctionInvoker _invoker;
    private readonly DevHostCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PartitionEvent>[] _partitions;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _processors = [];

    public EventHubTrigger(
        FunctionDefinition function,
        EventHubSettings settings,
        int partitionCount,
        FunctionInvoker invoker,
        DevHostCounters counters,
        TimeProvider time,
        ILogger logger)
    {
        _function = function;
        _binding = (EventHubTriggerBinding)function.Trigger;
        _settings = settings;
        _invoker = invoker;
        _counters = counters;
        _time = time;
        _logger = logger;
        _partitions = [.. Enumerable.Range(0, partitionCount).Select(_ => Channel.CreateUnbounded<PartitionEvent>(
            new UnboundedChannelOptions { SingleReader = true }))];
    }

    public string FunctionName => _function.Name;

    public void Start() =>
        _processors = [.. _partitions.Select((channel, index) => ProcessPartitionAsync(index, channel.Reader, _stopping.Token))];

    /// <summary>Called by the endpoint, in partition order, for every stored event.</summary>
    public void Deliver(PartitionEvent e) => _partitions[int.Parse(e.PartitionId, System.Globalization.CultureInfo.InvariantCulture)].Writer.TryWrite(e);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var channel in _partitions)
        {
            channel.Writer.TryComplete();
        }

        await Task.WhenAll(_processors);
        _stopping.Dispose();
    }

    private async Task ProcessPartitionAsync(int partition, ChannelReader<PartitionEvent> reader, CancellationToken stopping)
    {
        var batch = new List<PartitionEvent>(_settings.MaxEventBatchSize);
        try
        {
            while (await reader.WaitToReadAsync(stopping))
            {
                batch.Clear();
                Take(reader, batch);
                if (batch.Count < _settings.MinEventBatchSize)
                {
                    await FillAsync(reader, batch, stopping);
                }

                await DispatchAsync(partition, batch, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private void Take(ChannelReader<PartitionEvent> reader, List<PartitionEvent> batch)
    {
        while (batch.Count < _settings.MaxEventBatchSize && reader.TryRead(out var e))
        {
            batch.Add(e);
        }
    }

    /// <summary>With minEventBatchSize &gt; 1 the listener waits up to maxWaitTime for a fuller batch (best effort).</summary>
    private async Task FillAsync(ChannelReader<PartitionEvent> reader, List<PartitionEvent> batch, CancellationToken stopping)
    {
        using var wait = new CancellationTokenSource(_settings.MaxWaitTime, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, wait.Token);
        try
        {
            while (batch.Count < _settings.MinEventBatchSize && await reader.WaitToReadAsync(linked.Token))
            {
                Take(reader, batch);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Invokes the function once with a given batch, as the partition processor would (for benchmarks).</summary>
    public Task<InvocationOutcome> InvokeAsync(IReadOnlyList<PartitionEvent> batch, CancellationToken cancellationToken) =>
        _invoker.InvokeAsync(_function, EventHubPayload.Build(_binding, batch), cancellationToken);

    private async Task DispatchAsync(int partition, List<PartitionEvent> batch, CancellationToken stopping)
    {
        var outcome = await InvokeAsync(batch, stopping);
        if (outcome.Succeeded)
        {
            _counters.EventsDelivered(batch.Count);
            return;
        }

        _counters.BatchDropped(batch.Count);
        _logger.BatchDropped(_function.Name, partition, batch.Count, batch[0].SequenceNumber, batch[^1].SequenceNumber,
            outcome.Attempts, outcome.Error ?? "");
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 7020, Level = LogLevel.Error,
        Message = "{FunctionName} partition {Partition}: batch of {Count} events (sequence numbers {FirstSequenceNumber}-{LastSequenceNumber}) "
            + "failed after {Attempts} attempts and is checkpointed past, as Event Hubs does: {Reason}")]
    public static partial void BatchDropped(this ILogger logger, string functionName, int partition, int count,
        long firstSequenceNumber, long lastSequenceNumber, int attempts, string reason);
}
