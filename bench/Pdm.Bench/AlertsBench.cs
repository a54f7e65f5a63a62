using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pdm.Alerts.Rules;

namespace Pdm.Bench;

/// <summary>
/// `pdm bench alerts`: alert quality on a twin fleet with chaos (<see cref="AlertQuality"/>); with the pipeline, the
/// latency from a sample entering Ingest to its signed webhook and the deliveries per second.
/// </summary>
internal static class AlertsBench
{
    public static Command Create()
    {
        var lives = new Option<int>("--lives") { Description = "Twin machine lives run to failure (all machine kinds)", DefaultValueFactory = _ => 24 };
        var interval = new Option<int>("--interval-seconds") { Description = "Seconds between a machine's samples", DefaultValueFactory = _ => 30 };
        var mttf = new Option<double>("--mttf-days") { Description = "The twins' mean time to failure, in days", DefaultValueFactory = _ => 10 };
        var chaos = new Option<double>("--chaos-rate") { Description = "Chance per sample that each kind of measurement fault starts", DefaultValueFactory = _ => 0.0005 };
        var seed = new Option<int>("--seed") { Description = "Seed of the twins' lives and their chaos (another seed, another fleet)", DefaultValueFactory = _ => 7 };
        var rules = new Option<FileInfo?>("--rules") { Description = "A rule set (JSON, as PUT /api/v1/alert-rules takes it) to grade instead of the defaults" };
        var latency = new Option<int>("--latency-alerts") { Description = "Alerts timed one at a time from Ingest to the webhook", DefaultValueFactory = _ => 100 };
        var burst = new Option<int>("--burst-alerts") { Description = "Alerts in the throughput burst", DefaultValueFactory = _ => 2000 };
        var qualityOnly = new Option<bool>("--quality-only") { Description = "Only the alert quality (no local stack, seconds)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("alerts", "Ingest-to-webhook latency and deliveries per second on the real pipeline; alert quality on a twin fleet with chaos")
        {
            lives, interval, mttf, chaos, seed, rules, latency, burst, qualityOnly, json,
        };
        command.SetAction((parse, cancellationToken) => !TryReadRules(parse.GetValue(rules), out var ruleSet) ? Task.FromResult(2) : RunAsync(new AlertQualitySettings
        {
            Rules = ruleSet,
            Lives = parse.GetValue(lives),
            Interval = TimeSpan.FromSeconds(parse.GetValue(interval)),
            MeanTimeToFailure = TimeSpan.FromDays(parse.GetValue(mttf)),
            ChaosRate = parse.GetValue(chaos),
            Seed = parse.GetValue(seed),
        }, parse.GetValue(qualityOnly) ? null : (parse.GetValue(latency), parse.GetValue(burst)), parse.GetValue(json), cancellationToken));
        return command;
    }

    /// <summary>The rule set to grade (null: the defaults); false after printing why the file is unusable.</summary>
    private static bool TryReadRules(FileInfo? file, out RuleSet? rules)
    {
        rules = null;
        if (file is null)
        {
            return true;
        }
        var parsed = RuleSetJson.Parse(File.ReadAllText(file.FullName));
        foreach (var error in parsed.Errors)
        {
            Console.Error.WriteLine($"{file.Name}: {error}");
        }
        rules = parsed.RuleSet;
        return parsed.IsValid;
    }

    private static async Task<int> RunAsync(AlertQualitySettings settings, (int Latency, int Burst)? pipeline, bool json,
        CancellationToken cancellationToken)
    {
        if (settings.Lives < 1 || settings.Interval <= TimeSpan.Zero || settings.MeanTimeToFailure <= TimeSpan.Zero
            || settings.ChaosRate is < 0 or > 1 || pipeline is { Latency: < 1 } or { Burst: < 1 })
        {
            Console.Error.WriteLine("--lives, --interval-seconds, --mttf-days, --latency-alerts and --burst-alerts must be positive, --chaos-rate between 0 and 1.");
            return 2;
        }
        AlertDeliveryResult? delivery = null;
        if (pipeline is { } p)
        {
            Console.WriteLine("Delivery: the function app under the dev host, PostgreSQL, Azurite and a local receiver that verifies every signature");
            delivery = await AlertDeliveryBench.RunAsync(p.Latency, p.Burst, line => Console.WriteLine("  " + line), cancellationToken);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Alert quality: {settings.Lives} twin lives (every kind), a sample every {settings.Interval.TotalSeconds:0} s, mean life {settings.MeanTimeToFailure.TotalDays:0.#} days, chaos rate {settings.ChaosRate} per sample and kind, seed {settings.Seed}, {(settings.Rules is null ? "default rules" : "the given rules")}"));
        var quality = AlertQuality.Run(settings, line => Console.WriteLine("  " + line));
        var result = new AlertsBenchResult
        {
            P50Ms = delivery?.P50Ms,
            P99Ms = delivery?.P99Ms,
            DeliveriesPerS = delivery is null ? null : Math.Round(delivery.DeliveriesPerS),
            FailuresAlertedShare = Math.Round(quality.FailuresAlertedShare, 3),
            MedianLeadShareOfLife = Math.Round(quality.MedianLeadShareOfLife, 3),
            FalseAlertsPerMachineDay = Math.Round(quality.FalseAlertsPerMachineDay, 3),
            Lives = quality.Lives,
            FalseAlerts = quality.FalseAlerts,
            FalseReopenings = quality.FalseReopenings,
            HealthyMachineDays = Math.Round(quality.HealthyMachineDays, 1),
            DataQualityAlerts = quality.DataQualityAlerts,
        };
        if (delivery is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""

                Ingest to signed webhook            : p50 {delivery.P50Ms} ms, p99 {delivery.P99Ms} ms over {delivery.LatencySamples} alerts (target p99 < 1000 ms)
                Deliveries to a healthy receiver    : {result.DeliveriesPerS:N0}/s ({delivery.BurstAlerts} alerts, Ingest to the last arrival; target >= 500/s)
                """));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""

            Failures alerted before they happen : {quality.FailuresAlerted}/{quality.Lives} = {result.FailuresAlertedShare:P1} (target >= 95 %)
            Median lead time, share of life     : {result.MedianLeadShareOfLife:P1}
            False alerts per healthy machine-day: {quality.FalseAlerts} in {result.HealthyMachineDays} days = {result.FalseAlertsPerMachineDay} (target <= 0.1){(quality.FalseAlerts > 0 ? " by rule: " + string.Join(", ", quality.FalseAlertsByRule.Select(r => $"{r.Key} {r.Value}")) : "")}
            Reopenings while healthy            : {quality.FalseReopenings}
            Data-quality alerts (chaos faults)  : {quality.DataQualityAlerts}
            {quality.Samples:N0} samples scored and evaluated in {quality.Elapsed.TotalSeconds:0.0} s
            """));
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result, BenchJson.Options));
        }
        return 0;
    }
}

internal sealed record AlertsBenchResult
{
    public double? P50Ms { get; init; }
    public double? P99Ms { get; init; }
    public double? DeliveriesPerS { get; init; }
    public double FailuresAlertedShare { get; init; }
    public double MedianLeadShareOfLife { get; init; }
    public double FalseAlertsPerMachineDay { get; init; }
    public int Lives { get; init; }
    public int FalseAlerts { get; init; }
    public int FalseReopenings { get; init; }
    public double HealthyMachineDays { get; init; }
    public int DataQualityAlerts { get; init; }
}
