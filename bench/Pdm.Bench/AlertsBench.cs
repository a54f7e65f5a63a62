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
        var rules = new Option<FileInfo?>("--rules") { Description = "A rule set (JSON, as PUT /api/v1/alert-rules takes it) to grade instead of the defaults" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line" };
        var command = new Command("alerts", "Alert quality on a twin fleet with chaos")
        {
            lives, interval, mttf, chaos, rules, json,
        };
        command.SetAction(parse => !TryReadRules(parse.GetValue(rules), out var ruleSet) ? 2 : Run(new AlertQualitySettings
        {
            Rules = ruleSet,
            Lives = parse.GetValue(lives),
            Interval = TimeSpan.FromSeconds(parse.GetValue(interval)),
            MeanTimeToFailure = TimeSpan.FromDays(parse.GetValue(mttf)),
            ChaosRate = parse.GetValue(chaos),
        }, parse.GetValue(json)));
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

    private static int Run(AlertQualitySettings settings, bool json)
    {
        if (settings.Lives < 1 || settings.Interval <= TimeSpan.Zero || settings.MeanTimeToFailure <= TimeSpan.Zero
            || settings.ChaosRate is < 0 or > 1)
        {
            Console.Error.WriteLine("--lives, --interval-seconds and --mttf-days must be positive, --chaos-rate between 0 and 1.");
            return 2;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Alert quality: {settings.Lives} twin lives (every kind), a sample every {settings.Interval.TotalSeconds:0} s, mean life {settings.MeanTimeToFailure.TotalDays:0.#} days, chaos rate {settings.ChaosRate} per sample and kind, default rules"));
        var quality = AlertQuality.Run(settings, line => Console.WriteLine("  " + line));
        var result = new AlertsBenchResult
        {
            FailuresAlertedShare = Math.Round(quality.FailuresAlertedShare, 3),
            MedianLeadShareOfLife = Math.Round(quality.MedianLeadShareOfLife, 3),
            FalseAlertsPerMachineDay = Math.Round(quality.FalseAlertsPerMachineDay, 3),
            Lives = quality.Lives,
            FalseAlerts = quality.FalseAlerts,
            FalseReopenings = quality.FalseReopenings,
            HealthyMachineDays = Math.Round(quality.HealthyMachineDays, 1),
            DataQualityAlerts = quality.DataQualityAlerts,
        };
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
