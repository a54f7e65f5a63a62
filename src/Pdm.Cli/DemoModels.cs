using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pdm.Analytics.Rul;
using Pdm.Prediction;
using Pdm.Simulator;
using Pdm.Simulator.Twin;

namespace Pdm.Cli;

/// <summary>What happened to one default model.</summary>
internal sealed record DefaultModelOutcome(string Name, int? Version, bool Trained);

/// <summary>
/// The demo's default models, per machine kind of its fleet: <c>anomaly-&lt;kind&gt;</c> (fitted on the healthy rows),
/// <c>rul-&lt;kind&gt;</c> and <c>state-&lt;kind&gt;</c>, trained from seeded twin run-to-failure data on the demo plant's
/// time scale (<see cref="PlantOptions"/>, sampled at the demo's poll interval, so a row is as far from the next in
/// machine time as a live sample is) and put in production. The remaining-life and state models see machine time
/// (Predict multiplies the readings' clock by the same factor) and only the condition: no age and no drift from a
/// unit's first rows, because Predict's window holds two machine days of a life that started weeks earlier. The
/// anomaly model sees the readings' clock, as ingest scores on it. The columns are the kind's sensor names, so the
/// function app matches each model to the live machines of that kind. The training CSVs are kept under
/// .pdm/local/models; a model whose production version was trained on the same bytes is not trained again, so
/// repeated demos do not pile up versions.
/// </summary>
internal static class DemoModels
{
    /// <summary>
    /// Run-to-failure units per kind: enough for the remaining-life model's five folds, few enough that all models of
    /// the default fleet (six kinds) train in about ten seconds on two cores.
    /// </summary>
    private const int UnitsPerKind = 6;
    private const int Seed = 2026;

    private const double NormalShareOfBoundaryBC = 0.8;

    /// <summary>Condition only: what Predict's two-day window can tell of a machine installed weeks ago.</summary>
    private static readonly RulFeatureOptions ConditionFeatures = new() { IncludeAge = false, IncludeBaselineDelta = false };

    /// <summary>The kind as used in model names: CentrifugalPump → centrifugal-pump.</summary>
    public static string KindName(MachineKind kind)
    {
        var text = kind.ToString();
        var name = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            if (i > 0 && char.IsUpper(text[i]))
            {
                name.Append('-');
            }
            name.Append(char.ToLowerInvariant(text[i]));
        }
        return name.ToString();
    }

    /// <summary>
    /// Trains (where needed), registers and promotes the three models of every kind, kinds in parallel (one per core);
    /// <paramref name="report"/> gets one line per model, from any thread.
    /// </summary>
    public static async Task<IReadOnlyList<DefaultModelOutcome>> EnsureAsync(ModelRegistry registry, IEnumerable<MachineKind> kinds, string folder,
        PlantOptions plant, TimeSpan pollInterval, Action<string> report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(plant);
        ArgumentNullException.ThrowIfNull(report);
        var distinct = kinds.Distinct().Order().ToArray();
        var outcomes = new IReadOnlyList<DefaultModelOutcome>[distinct.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, distinct.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            async (i, token) => outcomes[i] = await EnsureKindAsync(registry, distinct[i], Path.Combine(folder, KindName(distinct[i])),
                TrainingOptions(distinct[i], plant, pollInterval), plant, report, token));
        return [.. outcomes.SelectMany(o => o)];
    }

    /// <summary>The run-to-failure data the models of <paramref name="kind"/> are trained on: the plant's twins, sampled as live.</summary>
    public static RunToFailureOptions TrainingOptions(MachineKind kind, PlantOptions plant, TimeSpan pollInterval)
    {
        ArgumentNullException.ThrowIfNull(plant);
        return new RunToFailureOptions
        {
            Machines = UnitsPerKind,
            Kinds = [kind],
            Twin = plant.Twin,
            Interval = pollInterval,
            Seed = Seed,
        };
    }

    /// <summary>
    /// The remaining-life fit of one kind: machine time, condition features, capped at a third of the mean life (10
    /// days). A healthy machine's remaining life cannot be read from its condition, so the model says "at least the
    /// cap" and spends its trees on the wear-out phase, where the 24 h and 48 h probabilities are decided.
    /// </summary>
    public static RulFitSettings RulSettings(string trainFile, PlantOptions plant) => new()
    {
        TrainFile = trainFile,
        Cap = plant.MeanLife.TotalSeconds / 3,
        Ignore = ["wear", "state"],
        Features = ConditionFeatures,
    };

    public static StateFitSettings StateSettings(string trainFile) =>
        new() { TrainFile = trainFile, Ignore = ["wear", "rul"], Features = ConditionFeatures };

    private static async Task<IReadOnlyList<DefaultModelOutcome>> EnsureKindAsync(ModelRegistry registry, MachineKind kind, string folder,
        RunToFailureOptions options, PlantOptions plant, Action<string> report, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var runs = Path.Combine(folder, "run-to-failure.csv");
        var healthy = Path.Combine(folder, "healthy.csv");
        await WriteRunsAsync(runs, options, cancellationToken);
        await WriteHealthyAsync(healthy, options, cancellationToken);

        FitSettings[] settings =
        [
            // The kind's own ISO table, as the twin judges it: the default table would call a healthy mill's vibration zone C.
            new AnomalyFitSettings { TrainFile = healthy, TimeColumn = "time", IsoZones = GroundTruth.ZonesOf(kind) },
            RulSettings(runs, plant),
            StateSettings(runs),
        ];
        var outcomes = new List<DefaultModelOutcome>(settings.Length);
        foreach (var setting in settings)
        {
            outcomes.Add(await EnsureModelAsync(registry, $"{setting.Kind}-{KindName(kind)}", setting, report, cancellationToken));
        }
        return outcomes;
    }

    private static async Task<DefaultModelOutcome> EnsureModelAsync(ModelRegistry registry, string name, FitSettings settings,
        Action<string> report, CancellationToken cancellationToken)
    {
        var hash = await ModelRegistry.HashTrainingDataAsync(settings.TrainFile, cancellationToken);
        if (await registry.GetProductionVersionAsync(name, cancellationToken) is { } production && production.TrainingDataHash == hash)
        {
            report($"{name}: version {production.Version} in production, same training data");
            return new DefaultModelOutcome(name, production.Version, Trained: false);
        }
        var clock = Stopwatch.StartNew();
        var fitted = ModelFitting.Fit(settings);
        if (fitted is null)
        {
            report($"{name}: not trained (see the errors above)");
            return new DefaultModelOutcome(name, null, Trained: false);
        }
        var version = await ModelRegistryCommands.RegisterAsync(registry, name, fitted, hash, promote: true, cancellationToken);
        report(string.Create(CultureInfo.InvariantCulture,
            $"{name}: trained in {clock.Elapsed.TotalSeconds:0.0} s, version {version?.Version} in production ({KeyMetric(fitted)})"));
        return new DefaultModelOutcome(name, version?.Version, Trained: version is not null);
    }

    private static string KeyMetric(FittedModel fitted) => fitted.Kind switch
    {
        ModelKinds.Anomaly => string.Create(CultureInfo.InvariantCulture, $"threshold {fitted.Metrics["threshold"]:0.00}, training FPR {fitted.Metrics["training_fpr"]:P1}"),
        ModelKinds.Rul => string.Create(CultureInfo.InvariantCulture, $"out-of-fold RMSE {fitted.Metrics["oof_rmse"] / 3600:0} h of machine time"),
        _ => string.Create(CultureInfo.InvariantCulture, $"training accuracy {fitted.Metrics["training_accuracy"]:P1}"),
    };

    private static async Task WriteRunsAsync(string path, RunToFailureOptions options, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        await RunToFailureExporter.ExportAsync(writer, options, progress: null, cancellationToken);
    }

    /// <summary>
    /// <c>time,&lt;sensors&gt;</c> of every unit's HEALTHY rows: normal operation for the anomaly model. Only rows whose
    /// true severity is well inside zone B count: late in the healthy phase the noisy readings already touch zone C,
    /// which the model's ISO check rightly flags. The time is the readings' clock, which ingest scores on. Units follow
    /// one another with an hour's gap, which the model treats as a new stretch rather than a jump.
    /// </summary>
    private static async Task WriteHealthyAsync(string path, RunToFailureOptions options, CancellationToken cancellationToken)
    {
        var sensors = MachineProfile.SensorsOf(options.Kinds[0]).Select(s => s.Sensor).ToList();
        var normalSeverity = NormalShareOfBoundaryBC * GroundTruth.ZonesOf(options.Kinds[0]).BoundaryBC;
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        await writer.WriteLineAsync($"time,{string.Join(',', sensors)}".AsMemory(), cancellationToken);
        var offset = 0.0;
        var line = new StringBuilder();
        for (var number = 1; number <= options.Machines; number++)
        {
            var end = offset;
            DateTimeOffset? first = null;
            foreach (var sample in RunToFailureExporter.Run(options, number).TakeWhile(s => s.Truth.Severity < normalSeverity))
            {
                first ??= sample.Timestamp;
                end = offset + (sample.Timestamp - first.Value).TotalSeconds;
                line.Clear().Append(end.ToString(CultureInfo.InvariantCulture));
                foreach (var value in sample.Values)
                {
                    line.Append(',').Append(value.Value.ToString(CultureInfo.InvariantCulture));
                }
                await writer.WriteLineAsync(line, cancellationToken);
            }
            offset = end + 3600;
        }
    }
}
