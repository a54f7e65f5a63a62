using System.Diagnostics;
using Pdm.Alerts.Evaluation;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Rules;
using Pdm.Analytics.Anomaly;
using Pdm.Simulator;
using Pdm.Simulator.Twin;
using Pdm.Telemetry;

namespace Pdm.Bench;

/// <summary>What the alert-quality half of `pdm bench alerts` runs: a twin fleet with chaos, machine lives end to end.</summary>
internal sealed record AlertQualitySettings
{
    /// <summary>Machine lives, spread over every machine kind the twin knows.</summary>
    public int Lives { get; init; } = 24;

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The twin's mean time to failure. Longer than the nominal twin's 27 h so that ingest's default warm-up (512
    /// samples over at least a day) is a small part of a life, as it is for a real machine.
    /// </summary>
    public TimeSpan MeanTimeToFailure { get; init; } = TimeSpan.FromDays(10);

    /// <summary>The chance per sample that each kind of measurement fault starts (glitch, heat wave, stuck, dropped).</summary>
    public double ChaosRate { get; init; } = 0.0005;

    /// <summary>Samples per evaluation, as an Ingest invocation brings them.</summary>
    public int Batch { get; init; } = 10;

    public int Seed { get; init; } = 7;

    /// <summary>The rule set graded; null: the defaults a new tenant gets.</summary>
    public RuleSet? Rules { get; init; }
}

/// <summary>The quality figures: lives that failed with an alert open before, how early, and alerts on healthy machines.</summary>
internal sealed record AlertQualityResult(
    int Lives, int FailuresAlerted, double MedianLeadShareOfLife, double HealthyMachineDays, int FalseAlerts,
    int FalseReopenings, int DataQualityAlerts, long Samples, TimeSpan Elapsed, IReadOnlyDictionary<string, int> FalseAlertsByRule)
{
    public double FailuresAlertedShare => Lives == 0 ? 0 : (double)FailuresAlerted / Lives;

    public double FalseAlertsPerMachineDay => HealthyMachineDays == 0 ? 0 : FalseAlerts / HealthyMachineDays;
}

/// <summary>
/// Runs twin machines from new to broken, with the chaos engine's measurement faults, through the code ingest runs: the
/// anomaly ensemble warming up per machine with ingest's defaults, <see cref="AlertEvaluator.EvaluateSamples"/> with the
/// default rules in ingest-sized batches, and the alert lifecycle (opened, repeats, auto-resolution). The twin's truth
/// then grades every alert:
/// <list type="bullet">
/// <item>a failure is alerted when a condition alert (not a data-quality one) opened while the machine was no longer
/// healthy, or was still open, before the sample that broke it; the lead is from that alert's opening to the break;</item>
/// <item>a false alert is a condition alert opened while the twin says the machine is healthy; counted per healthy
/// machine-day (time in the twin's Healthy state). Reopenings of an alert while healthy are counted apart: the same
/// alert, but another notification;</item>
/// <item>data-quality alerts (stuck or dropped sensor) answer the chaos engine's faults: counted, not graded.</item>
/// </list>
/// Prediction rules (failure probability, remaining life, health state) need a trained remaining-life model and the
/// Predict timer: they are not part of this measurement, which grades the streaming rules alone.
/// </summary>
internal static class AlertQuality
{
    private static readonly HashSet<string> DataQualityKinds = new(StringComparer.Ordinal) { "stuck_sensor", "dropped_sensor" };

    public static AlertQualityResult Run(AlertQualitySettings settings, Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var kinds = Enum.GetValues<MachineKind>();
        var options = new RunToFailureOptions
        {
            Machines = settings.Lives,
            Kinds = kinds,
            Twin = new TwinOptions { Mode = TwinMode.Nominal, MeanTimeToFailure = settings.MeanTimeToFailure },
            Interval = settings.Interval,
            Seed = settings.Seed,
            Chaos = ChaosOptions.Uniform(settings.ChaosRate),
        };
        var ruleSet = settings.Rules ?? DefaultRules.Create();
        var lifecycle = new AlertLifecycle(new AlertPolicy());
        var alerted = 0;
        var falseAlerts = 0;
        var falseReopenings = 0;
        var dataQuality = 0;
        var healthyTime = TimeSpan.Zero;
        long samples = 0;
        var leads = new List<double>();
        var falseByRule = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var number = 1; number <= settings.Lives; number++)
        {
            var life = RunLife(options, number, ruleSet, lifecycle, settings.Batch);
            samples += life.Samples;
            healthyTime += life.HealthyTime;
            falseAlerts += life.FalseAlerts.Count;
            falseReopenings += life.FalseReopenings;
            foreach (var rule in life.FalseAlerts)
            {
                falseByRule[rule] = falseByRule.GetValueOrDefault(rule) + 1;
            }
            dataQuality += life.DataQualityAlerts;
            if (life.Lead is { } lead)
            {
                alerted++;
                leads.Add(lead / life.Length);
            }
            progress?.Invoke($"life {number}/{settings.Lives} ({life.MachineId}): {life.Length.TotalDays:0.0} days, " +
                (life.Lead is { } l ? $"alerted {l.TotalHours:0.0} h before failure" : "failure NOT alerted") +
                $", {life.FalseAlerts.Count} false, {life.DataQualityAlerts} data-quality");
        }
        leads.Sort();
        var median = leads.Count == 0 ? 0 : leads.Count % 2 == 1 ? leads[leads.Count / 2]
            : (leads[(leads.Count / 2) - 1] + leads[leads.Count / 2]) / 2;
        return new AlertQualityResult(settings.Lives, alerted, median, healthyTime.TotalDays, falseAlerts, falseReopenings, dataQuality, samples, watch.Elapsed, falseByRule);
    }

    private sealed record LifeResult(string MachineId, long Samples, TimeSpan Length, TimeSpan HealthyTime, TimeSpan? Lead,
        IReadOnlyList<string> FalseAlerts, int FalseReopenings, int DataQualityAlerts);

    private static LifeResult RunLife(RunToFailureOptions options, int number, RuleSet ruleSet, AlertLifecycle lifecycle, int batchSize)
    {
        var unit = RunToFailureExporter.Unit(options, number);
        var sensors = MachineAnomalyTracker.ScoredSensors(MachineProfile.SensorsOf(unit.Kind).Select(s => s.Sensor).Order(StringComparer.Ordinal));
        // The machine's vibration class as its operator would set it (ISO 10816 tables differ fourfold between classes).
        var tracker = MachineAnomalyTracker.WarmingUp(sensors, (ulong)number, new AnomalyOptions { IsoZones = GroundTruth.ZonesOf(unit.Kind) },
            MachineAnomalyTracker.DefaultWarmupSamples, TimeSpan.FromDays(1));
        var rules = ruleSet.ResolveForMachine(unit.MachineId, unit.Kind.ToString()).Rules;
        var alerts = new Dictionary<string, Alert>(StringComparer.Ordinal);
        var opened = new List<(Guid Alert, DateTimeOffset At, MachineState State)>();
        AlertEvaluationState? state = null;
        var batch = new List<ScoredSample>(batchSize);
        var values = new double[sensors.Length];
        long count = 0;
        DateTimeOffset? start = null;
        DateTimeOffset end = default;
        var healthy = TimeSpan.Zero;
        var falseAlerts = new List<string>();
        var falseReopenings = 0;
        var dataQuality = 0;
        var current = MachineState.Healthy;

        void Evaluate(DateTimeOffset now)
        {
            var evaluation = AlertEvaluator.EvaluateSamples(rules, state, batch);
            state = evaluation.State;
            var events = lifecycle.Apply(alerts, RuleSubject.Machine, unit.MachineId, evaluation).Concat(lifecycle.Tick(alerts, now));
            foreach (var e in events.Where(e => e.Type is AlertEventType.Opened or AlertEventType.Reopened))
            {
                if (DataQualityKinds.Contains(e.Alert.RuleKind))
                {
                    dataQuality++;
                    continue;
                }
                opened.Add((e.Alert.Id, e.At, current));
                if (current == MachineState.Healthy)
                {
                    // A reopening is the same alert (one per problem) but it notifies again: counted on its own.
                    if (e.Type == AlertEventType.Opened)
                    {
                        falseAlerts.Add(e.Alert.RuleId);
                    }
                    else
                    {
                        falseReopenings++;
                    }
                }
            }
            batch.Clear();
        }

        foreach (var twin in RunToFailureExporter.Run(options, number))
        {
            start ??= twin.Timestamp;
            if (current == MachineState.Healthy && twin.Truth.State == MachineState.Healthy && count > 0)
            {
                healthy += options.Interval;
            }
            current = twin.Truth.State;
            if (current == MachineState.Broken)
            {
                end = twin.Timestamp;
                break;
            }
            values.AsSpan().Fill(double.NaN);
            foreach (var v in twin.Values)
            {
                var i = Array.BinarySearch(sensors, v.Sensor, StringComparer.Ordinal);
                if (i >= 0)
                {
                    values[i] = v.Value;
                }
            }
            var score = tracker.Score(values, twin.Timestamp.ToUnixTimeMilliseconds() / 1000.0);
            var sample = new MachineSample { MachineId = unit.MachineId, Timestamp = twin.Timestamp, Sequence = count, Values = twin.Values };
            batch.Add(new ScoredSample(sample, Snapshot(twin.Timestamp, score, tracker, sensors)));
            count++;
            if (batch.Count == batchSize)
            {
                Evaluate(twin.Timestamp);
            }
        }
        if (batch.Count > 0)
        {
            Evaluate(end);
        }

        // The earliest condition alert opened once the machine was no longer healthy, or still open when it broke.
        var openAtEnd = alerts.Values.Where(a => a.Status != AlertStatus.Resolved).Select(a => a.Id).ToHashSet();
        var warnings = opened.Where(o => o.At < end && (o.State != MachineState.Healthy || openAtEnd.Contains(o.Alert))).ToList();
        TimeSpan? lead = warnings.Count == 0 ? null : end - warnings.Min(o => o.At);
        return new LifeResult(unit.MachineId, count, end - start!.Value, healthy, lead, falseAlerts, falseReopenings, dataQuality);
    }

    /// <summary>The score as ingest hands it to the rules (<c>AnomalyScoring</c> stores the same fields).</summary>
    private static ScoreSnapshot Snapshot(DateTimeOffset at, AnomalyScore score, MachineAnomalyTracker tracker, string[] sensors)
    {
        Span<int> largest = stackalloc int[3];
        var count = tracker.LargestContributions(largest);
        var contributions = tracker.Contributions;
        var top = new List<SensorShare>(count);
        foreach (var i in largest[..count])
        {
            top.Add(new SensorShare(sensors[i], contributions[i]));
        }
        return new ScoreSnapshot
        {
            At = at,
            Score = score.Score,
            Threshold = score.Threshold,
            IsolationForest = score.IsolationForest,
            Statistical = score.Statistical,
            Temporal = score.Temporal,
            IsoZone = score.Zone == VibrationZone.None ? null : score.Zone,
            Model = tracker.IsWarmingUp ? "baseline" : "learned",
            TopSensors = top,
        };
    }
}
