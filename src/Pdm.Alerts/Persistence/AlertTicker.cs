using Microsoft.Extensions.Logging;
using Pdm.Storage;

namespace Pdm.Alerts.Persistence;

/// <summary>What one tick did: tenants evaluated (and failed), alert events and outbox rows written.</summary>
public sealed record AlertTickOutcome(int Tenants, int Failed, int Events, int Outbox);

/// <summary>
/// The alert rules that need the clock: for every tenant, every machine and device with an evaluation state or an
/// unresolved alert is evaluated at the current time (<see cref="AlertEvaluations.ForTick"/>: devices offline,
/// machines silent, quiet periods that ended resolve their alerts), each tenant in a transaction of its own. A tenant
/// that fails is logged and the others go on.
/// </summary>
public sealed partial class AlertTicker(TenantStore tenants, AlertStore alerts, AlertEvaluations evaluations, TimeProvider clock,
    ILogger<AlertTicker> logger)
{
    public async Task<AlertTickOutcome> RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var all = await tenants.ListTenantsAsync(cancellationToken);
        AlertWriteResult written = default;
        var failed = 0;
        foreach (var tenant in all)
        {
            try
            {
                written = written.Add(await alerts.EvaluateWatchedAsync(tenant.Id, evaluations.ForTick(now), cancellationToken));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                failed++;
                Log.TenantFailed(logger, tenant.Id, ex);
            }
        }
        Log.TickFinished(logger, all.Count, failed, written.Events, written.Outbox);
        return new AlertTickOutcome(all.Count, failed, written.Events, written.Outbox);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10010, Level = LogLevel.Warning, Message = "The alert tick of tenant {TenantId} failed; the other tenants go on")]
        public static partial void TenantFailed(ILogger logger, Guid tenantId, Exception exception);

        [LoggerMessage(EventId = 10011, Level = LogLevel.Information,
            Message = "Alert tick: {Tenants} tenants ({Failed} failed), {Events} alert events, {Outbox} to publish")]
        public static partial void TickFinished(ILogger logger, int tenants, int failed, int events, int outbox);
    }
}
