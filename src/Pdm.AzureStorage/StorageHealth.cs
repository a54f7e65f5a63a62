using System.Diagnostics;
using Azure;
using Azure.Data.Tables;

namespace Pdm.AzureStorage;

/// <summary>One dependency as a health check saw it.</summary>
/// <param name="Status"><c>ok</c> (it answered; <paramref name="Detail"/> says when the resource is not created yet);
/// <c>unavailable</c> (refused or failed); <c>timeout</c> (no answer within the check's time).</param>
public sealed record DependencyCheck(string Name, string Status, long Milliseconds, string? Detail)
{
    public bool IsOk => Status == "ok";
}

/// <summary>
/// Checks the storage account the app works with by touching what it uses: the blob container, the queue and the table
/// (each named by the caller), concurrently, each within a timeout. Reading one resource needs only the data roles the
/// app has, unlike the account's service properties.
/// </summary>
public sealed class StorageHealth(StorageClients clients, string container, string queue, string table)
{
    public Task<DependencyCheck[]> CheckAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.WhenAll(
            ProbeAsync("blob", timeout, async ct => await clients.Blobs.GetBlobContainerClient(container).GetPropertiesAsync(cancellationToken: ct),
                cancellationToken),
            ProbeAsync("queue", timeout, async ct => await clients.Queues.GetQueueClient(queue).GetPropertiesAsync(ct), cancellationToken),
            ProbeAsync("table", timeout, async ct =>
            {
                // The first page of one entity: proves the table answers without reading it all.
                await foreach (var _ in clients.Tables.GetTableClient(table).QueryAsync<TableEntity>(maxPerPage: 1, select: ["PartitionKey"],
                    cancellationToken: ct).AsPages())
                {
                    break;
                }
            }, cancellationToken));

    /// <summary>
    /// Runs <paramref name="probe"/> with <paramref name="timeout"/> and says how it went; a 404 means the service is there
    /// and the resource is not created yet (the app creates containers, queues and tables on first use): ok.
    /// </summary>
    public static async Task<DependencyCheck> ProbeAsync(string name, TimeSpan timeout, Func<CancellationToken, Task> probe,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(probe);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            await probe(deadline.Token);
            return new DependencyCheck(name, "ok", clock.ElapsedMilliseconds, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new DependencyCheck(name, "ok", clock.ElapsedMilliseconds, $"not created yet ({ex.ErrorCode ?? "404"}); the app creates it on first use");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new DependencyCheck(name, "timeout", clock.ElapsedMilliseconds, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (StorageClients.IsUnavailable(ex) || ex is InvalidOperationException or System.Data.Common.DbException or TimeoutException)
        {
            return new DependencyCheck(name, "unavailable", clock.ElapsedMilliseconds, Describe(ex));
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        RequestFailedException failed => $"{failed.Status} {failed.ErrorCode}".Trim(),
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 => Describe(aggregate.InnerExceptions[^1]),
        _ => ex.GetType().Name + ": " + (ex.Message.Length > 200 ? ex.Message[..200] : ex.Message),
    };
}
