using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pdm.Prediction;
using Pdm.Storage;

namespace Pdm.Cli;

/// <summary>`pdm model train|promote|list` and `pdm model eval --name`: models in the registry.</summary>
internal static class ModelRegistryCommands
{
    /// <summary>`pdm model train &lt;kind&gt;`: fits exactly as `pdm model fit` does, then registers the model.</summary>
    public static Command Train(ModelFitOptions options)
    {
        var name = new Option<string>("--name") { Description = "Registry name of the model (a-z, 0-9, '.', '_', '-')", Required = true };
        var promote = new Option<bool>("--promote") { Description = "Put the new version in production (default: staging)" };
        var timeUnit = new Option<string>("--time-unit") { Description = "Unit of the time column, recorded with the model", DefaultValueFactory = _ => "s" };
        var database = ModelRegistryAccess.DatabaseOption();
        var storage = ModelRegistryAccess.StorageOption();
        var command = options.CreateCommand(name, promote, timeUnit, database, storage);
        command.Description = $"{options.Description}: train and register";
        command.SetAction(async (parse, cancellationToken) =>
        {
            var modelName = parse.GetValue(name)!;
            var settings = options.Read(parse) with { TimeUnit = parse.GetValue(timeUnit)! };
            if (ModelRegistry.ValidateName(modelName) is { } invalid)
            {
                await Console.Error.WriteLineAsync(invalid);
                return 1;
            }
            if (!File.Exists(settings.TrainFile))
            {
                return ModelCommand.Fail(settings.TrainFile, ["file not found"]);
            }
            var hash = await ModelRegistry.HashTrainingDataAsync(settings.TrainFile, cancellationToken);
            if (ModelFitting.Fit(settings) is not { } fitted)
            {
                return 1;
            }
            Console.WriteLine(fitted.Summary);
            return await ModelRegistryAccess.RunAsync(parse.GetValue(database), parse.GetValue(storage), async registry =>
            {
                if (await RegisterAsync(registry, modelName, fitted, hash, parse.GetValue(promote), cancellationToken) is not { } version)
                {
                    return 1;
                }
                Console.WriteLine($"Registered {version.Name} version {version.Version} ({version.Kind}), stage {Stage(version.Stage)}");
                return 0;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Registers <paramref name="fitted"/> as the next version of <paramref name="name"/> and, when asked, promotes it to
    /// production; null (reason on stderr) when the name already holds models of another kind.
    /// </summary>
    public static async Task<ModelVersion?> RegisterAsync(ModelRegistry registry, string name, FittedModel fitted, string trainingDataHash,
        bool promote, CancellationToken cancellationToken)
    {
        ModelVersion version;
        try
        {
            version = await registry.RegisterAsync(name, fitted.Kind, fitted.Artifact, trainingDataHash, fitted.Metrics, fitted.Parameters, cancellationToken);
        }
        catch (ModelKindConflictException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return null;
        }
        if (promote)
        {
            version = (await registry.PromoteAsync(name, version.Version, ModelStage.Production, cancellationToken))!.Promoted;
        }
        return version;
    }

    public static Command Promote()
    {
        var name = new Argument<string>("name") { Description = "Model name" };
        var version = new Argument<int>("version") { Description = "Version to move" };
        var stage = new Option<string>("--stage") { Description = "production, staging or archived", DefaultValueFactory = _ => "production" };
        var database = ModelRegistryAccess.DatabaseOption();
        var storage = ModelRegistryAccess.StorageOption();
        var command = new Command("promote", "Move a registered version to a stage; promoting to production archives the previous production version")
        {
            name, version, stage, database, storage,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stageText = parse.GetValue(stage);
            if (!ModelStore.TryParseStage(stageText, out var target))
            {
                await Console.Error.WriteLineAsync($"--stage '{stageText}' is not a stage: use production, staging or archived.");
                return 1;
            }
            var modelName = parse.GetValue(name)!;
            var number = parse.GetValue(version);
            return await ModelRegistryAccess.RunAsync(parse.GetValue(database), parse.GetValue(storage), async registry =>
            {
                if (await registry.PromoteAsync(modelName, number, target, cancellationToken) is not { } promotion)
                {
                    await Console.Error.WriteLineAsync(await UnknownAsync(registry, modelName, number, cancellationToken));
                    return 1;
                }
                var archived = promotion.Archived is { } previous ? $"; version {previous.Version} archived" : "";
                Console.WriteLine($"{modelName} version {number} is now {Stage(promotion.Promoted.Stage)}{archived}");
                return 0;
            }, cancellationToken);
        });
        return command;
    }

    public static Command List()
    {
        var name = new Argument<string?>("name") { Description = "Only this model's versions", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print a JSON array instead of a table" };
        var database = ModelRegistryAccess.DatabaseOption();
        var storage = ModelRegistryAccess.StorageOption();
        var command = new Command("list", "Registered models: name, version, kind, stage, created, key metrics") { name, json, database, storage };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var modelName = parse.GetValue(name);
            return await ModelRegistryAccess.RunAsync(parse.GetValue(database), parse.GetValue(storage), async registry =>
            {
                var versions = await registry.ListAsync(modelName, cancellationToken);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(versions.Select(Listing), CliJson.Options));
                    return 0;
                }
                if (versions.Count == 0)
                {
                    Console.WriteLine(modelName is null ? "No models are registered." : $"No model named '{modelName}' is registered.");
                    return modelName is null ? 0 : 1;
                }
                PrintTable(versions);
                return 0;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>Why <paramref name="name"/> v<paramref name="version"/> is not there: no such name, or which versions it has.</summary>
    public static async Task<string> UnknownAsync(ModelRegistry registry, string name, int? version, CancellationToken cancellationToken)
    {
        var versions = await registry.ListAsync(name, cancellationToken);
        if (versions.Count == 0)
        {
            var names = (await registry.ListAsync(null, cancellationToken)).Select(v => v.Name).Distinct().ToList();
            return $"No model named '{name}' is registered" + (names.Count > 0 ? $" (models: {string.Join(", ", names)})." : ".");
        }
        var known = string.Join(", ", versions.OrderBy(v => v.Version).Select(v => $"{v.Version} ({Stage(v.Stage)})"));
        return version is null
            ? $"Model '{name}' has no production version; pass --version (versions: {known})."
            : $"Model '{name}' has no version {version} (versions: {known}).";
    }

    public static string Stage(ModelStage stage) => stage.ToString().ToLowerInvariant();

    private static void PrintTable(IReadOnlyList<ModelVersion> versions)
    {
        var rows = versions.Select(v => new[]
        {
            v.Name, v.Version.ToString(CultureInfo.InvariantCulture), v.Kind, Stage(v.Stage),
            v.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), KeyMetrics(v),
        }).ToList();
        string[] header = ["NAME", "VERSION", "KIND", "STAGE", "CREATED (UTC)", "KEY METRICS"];
        var widths = header.Select((h, c) => rows.Select(r => r[c].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in rows.Prepend(header))
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }

    // The numbers that say how good a version is; the rest are in --json.
    private static string KeyMetrics(ModelVersion version)
    {
        string[] keys = version.Kind switch
        {
            ModelKinds.Anomaly => ["threshold", "training_fpr", "rows"],
            ModelKinds.Rul => ["oof_rmse", "units", "rows"],
            ModelKinds.State => ["training_accuracy", "units", "rows"],
            _ => [.. version.Metrics.Keys.Order(StringComparer.Ordinal)],
        };
        return string.Join(" ", keys.Where(version.Metrics.ContainsKey)
            .Select(k => string.Create(CultureInfo.InvariantCulture, $"{k}={version.Metrics[k]:0.####}")));
    }

    private static ModelListing Listing(ModelVersion v) => new()
    {
        Name = v.Name,
        Version = v.Version,
        Kind = v.Kind,
        Stage = Stage(v.Stage),
        CreatedAt = v.CreatedAt,
        StageChangedAt = v.StageChangedAt,
        TrainingDataHash = v.TrainingDataHash,
        ArtifactSha256 = v.ArtifactSha256,
        ArtifactSize = v.ArtifactSize,
        Metrics = v.Metrics,
        Parameters = v.Parameters,
    };

    private sealed record ModelListing
    {
        public required string Name { get; init; }
        public required int Version { get; init; }
        public required string Kind { get; init; }
        public required string Stage { get; init; }
        public required DateTimeOffset CreatedAt { get; init; }
        public required DateTimeOffset StageChangedAt { get; init; }
        public required string TrainingDataHash { get; init; }
        public required string ArtifactSha256 { get; init; }
        public required long ArtifactSize { get; init; }
        public required IReadOnlyDictionary<string, double> Metrics { get; init; }
        public required IReadOnlyDictionary<string, string> Parameters { get; init; }
    }
}
