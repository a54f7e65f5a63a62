using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Pdm.Webhooks;

namespace Pdm.Notifications.Delivery;

/// <summary>
/// How alert events travel from the outbox to the receivers; settings <c>Pdm__Webhooks__*</c> (the same section as
/// <see cref="WebhookDeliveryOptions"/>, which holds the per-attempt limits).
/// </summary>
public sealed class WebhookDispatchOptions
{
    public const string Section = "Pdm:Webhooks";

    public const string DefaultQueue = "webhook-deliveries";

    /// <summary>The Storage queue of work messages that DeliverWebhook is triggered by (created when missing).</summary>
    public string Queue { get; set; } = DefaultQueue;

    /// <summary>
    /// Delays before attempts 2, 3, … as TimeSpans separated by commas (<c>00:00:01,00:00:02</c>); empty: the production
    /// schedule (<see cref="WebhookRetrySchedule.Default"/>, 12 attempts over more than 24 h). Tests and benchmarks compress it.
    /// </summary>
    public string? RetryDelays { get; set; }

    /// <summary>Proportional jitter of a configured <see cref="RetryDelays"/> schedule (the default schedule has its own, 0.2).</summary>
    public double RetryJitter { get; set; } = 0.2;

    /// <summary>Outbox rows claimed per publish transaction.</summary>
    public int PublishBatchSize { get; set; } = 256;

    /// <summary>Deliveries one work message makes before it hands over to a continuation message (fairness between subscriptions).</summary>
    public int DeliveriesPerTurn { get; set; } = 1000;

    /// <summary>Time one work message delivers before it hands over to a continuation message.</summary>
    public TimeSpan TurnBudget { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The timer re-sends a work message for a subscription whose oldest pending delivery has been due this long with
    /// nobody delivering it (its message was lost: a crash after commit before enqueue, a poisoned message).
    /// </summary>
    public TimeSpan OverdueAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The schedule these options describe.</summary>
    /// <exception cref="FormatException">A delay is not a TimeSpan; the message names it.</exception>
    public WebhookRetrySchedule RetrySchedule()
    {
        if (string.IsNullOrWhiteSpace(RetryDelays))
        {
            return WebhookRetrySchedule.Default;
        }
        var delays = new List<TimeSpan>();
        foreach (var part in RetryDelays.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TimeSpan.TryParse(part, CultureInfo.InvariantCulture, out var delay))
            {
                throw new FormatException($"Pdm:Webhooks:RetryDelays: '{part}' is not a TimeSpan (e.g. 00:00:05).");
            }
            delays.Add(delay);
        }
        return new WebhookRetrySchedule(delays, RetryJitter);
    }
}

/// <summary>Checks <see cref="WebhookDispatchOptions"/> at start, naming each setting at fault and why.</summary>
public sealed partial class WebhookDispatchOptionsValidator : IValidateOptions<WebhookDispatchOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookDispatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        const string p = "Pdm:Webhooks:";
        if (options.Queue is null || !QueueName().IsMatch(options.Queue) || options.Queue.Contains("--", StringComparison.Ordinal))
        {
            problems.Add($"{p}Queue '{options.Queue}' is not a storage queue name (3-63 lower-case letters, digits and single hyphens).");
        }
        try
        {
            options.RetrySchedule();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            problems.Add($"{p}RetryDelays: {ex.Message}");
        }
        if (options.PublishBatchSize is < 1 or > 10_000)
        {
            problems.Add(F($"{p}PublishBatchSize {options.PublishBatchSize} must be 1 to 10000."));
        }
        if (options.DeliveriesPerTurn is < 1 or > 10_000)
        {
            problems.Add(F($"{p}DeliveriesPerTurn {options.DeliveriesPerTurn} must be 1 to 10000."));
        }
        if (options.TurnBudget < TimeSpan.FromSeconds(1) || options.TurnBudget > TimeSpan.FromMinutes(5))
        {
            problems.Add(F($"{p}TurnBudget {options.TurnBudget:c} must be 00:00:01 to 00:05:00 (the function's timeout is longer)."));
        }
        if (options.OverdueAfter < TimeSpan.FromSeconds(1) || options.OverdueAfter > TimeSpan.FromHours(1))
        {
            problems.Add(F($"{p}OverdueAfter {options.OverdueAfter:c} must be 00:00:01 to 01:00:00."));
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$")]
    private static partial Regex QueueName();
}
