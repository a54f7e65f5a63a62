using System.Diagnostics;
using System.Globalization;
using System.Text;
using Pdm.Prediction;
using Pdm.Simulator;
using Pdm.Simulator.Twin;

namespace Pdm.Cli;

/// <summary>What happened to one default model.</summary>
internal sealed record DefaultModelOutcome(string Name, int? Version, bool Trained);

/// <summary>
/// The demo's default models, per machine kind of its fleet: <c>anomaly-&lt;kind&gt;</c> (fitted on the healthy rows),
/// <c>rul-&lt;kind&gt;</c> and <c>state-&lt;kind&gt;</c>, trained from seeded twin run-to-failure data in Accelerated mode
/// (the mode the demo's PLCs run in, at the demo's 1 s poll interval) and put in production. The columns are the
/// kind's sensor names, so the function app matches each model to the live machines of that kind. The training CSVs
/// are kept under .pdm/local/models; a model whose production version was trained on the same bytes is not trained
/// again, so repeated demos do not pile up versions.
/// </summary>
internal static class DemoModels
{
    /// <summary>
    /// Run-to-failure units per kind: enough for the remaining-life model's five folds, few enough that all models of
    /// the default fleet (six kinds) train in about ten seconds on two cores.
    /// </summary>
    private const int UnitsPerKind = 6;
    private const int Seed = 2026;

    // Remaining life is in seconds here; twice the mean Accelerated life keeps the whole wear-out phase uncapped.
    private const double NormalShareOfBoundaryBC = 0.8;

    private static readonly double RulCap = 2 * TwinOptions.MeanTimeToFailureOf(TwinMode.Accelerated).TotalSeconds;

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
        Action<string> report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(report);
        var distinct = kinds.Distinct().Order().ToArray();
        var outcomes = new IReadOnlyList<DefaultModelOutcome>[distinct.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, distinct.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
            async (i, token) => outcomes[i] = await EnsureKindAsync(registry, distinct[i], Path.Combine(folder, KindName(distinct[i])), report, token));
        return [.. outcomes.SelectMany(o => o)];
    }

    private static async Task<IReadOnlyList<DefaultModelOutcome>> EnsureKindAsync(ModelRegistry registry, MachineKind kind, string folder,
        Action<string> report, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var options = new RunToFailureOptions
        {
            Machines = UnitsPerKind,
            Kinds = [kind],
            Twin = new TwinOptions { Mode = TwinMode.Accelerated },
            Seed = Seed,
        };
        var runs = Path.Combine(folder, "run-to-failure.csv");
        var healthy = Path.Combine(folder, "healthy.csv");
        await WriteRunsAsync(runs, options, cancellationToken);
        await WriteHealthyAsync(healthy, options, cancellationToken);

        FitSettings[] settings =
        [
            // The kind's own ISO table, as the twin judges it: the default table would call a healthy mill's vibration zone C.
            new AnomalyFitSettings { TrainFile = healthy, TimeColumn = "time", IsoZones = GroundTruth.ZonesOf(kind) },
            new RulFitSettings { TrainFile = runs, Cap = RulCap, Ignore = ["wear", "state"] },
            new StateFitSettings { TrainFile = runs, Ignore = ["wear", "rul"] },
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
        ModelKinds.Rul => string.Create(CultureInfo.InvariantCulture, $"out-of-fold RMSE {fitted.Metrics["oof_rmse"]:0} s"),
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
    /// which the model's ISO check rightly flags. Units follow one another with an hour's gap, which the model treats
    /// as a new stretch rather than a jump.
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
            foreach (var sample in RunToFailureExporter.Run(options, number).TakeWhile(s => s.Truth.Severity < normalSeverity))
            {
                end = offset + sample.Truth.Elapsed.TotalSeconds;
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
