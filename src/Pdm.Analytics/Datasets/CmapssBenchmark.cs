using System.Diagnostics;
using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Datasets;

/// <summary>The literature protocol on a C-MAPSS subset: train with targets capped at 125, score the last row of each test unit.</summary>
public static class CmapssBenchmark
{
    /// <summary>Trains on FD001 in <paramref name="directory"/> and scores the test units; errors if the files cannot be read.</summary>
    public static CmapssBenchmarkResult EvaluateFd001(string directory, RulModelOptions? options = null, int seed = 1) =>
        Evaluate(directory, "FD001", options, seed);

    public static CmapssBenchmarkResult Evaluate(string directory, string subset, RulModelOptions? options = null, int seed = 1)
    {
        var loaded = CmapssDataset.Load(directory, subset);
        if (loaded.Dataset is not { } data)
        {
            return new CmapssBenchmarkResult { Errors = loaded.Errors };
        }

        var stopwatch = Stopwatch.StartNew();
        var model = RulModel.Fit(data.Train, options ?? new RulModelOptions(), seed, CmapssDataset.ColumnNames);
        var trainingTime = stopwatch.Elapsed;
        return new CmapssBenchmarkResult
        {
            Model = model,
            Evaluation = RulEvaluation.EvaluateLast(model, data.Test, data.TestRul),
            TrainingTime = trainingTime,
            Errors = [],
        };
    }
}

public sealed record CmapssBenchmarkResult
{
    public RulModel? Model { get; init; }

    public RulEvaluationResult? Evaluation { get; init; }

    public TimeSpan TrainingTime { get; init; }

    public required IReadOnlyList<string> Errors { get; init; }
}
