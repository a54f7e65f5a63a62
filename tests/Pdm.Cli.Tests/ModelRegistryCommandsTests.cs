using System.Security.Cryptography;
using System.Text.Json;
using Pdm.Storage;

namespace Pdm.Cli.Tests;

[Collection(RegistryStackGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ModelRegistryCommandsTests(RegistryStackFixture stack)
{
    [Fact]
    public async Task Train_registers_a_staging_version_with_the_fit_metrics_parameters_and_the_data_hash()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("rul");

        var result = await TrainAsync("rul", runs, name, "--ignore", "wear,state", "--cap", "300");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Registered {name} version 1 (rul), stage staging", result.Output, StringComparison.Ordinal);
        var version = Assert.Single(await stack.Registry.ListAsync(name, CancellationToken.None));
        Assert.Equal(ModelStage.Staging, version.Stage);
        Assert.Equal("rul", version.Kind);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(runs))), version.TrainingDataHash);
        Assert.True(version.Metrics["oof_rmse"] > 0);
        Assert.Equal(6, version.Metrics["units"]);
        Assert.Equal("s", version.Parameters["time_unit"]);
        Assert.Equal("300", version.Parameters["cap"]);
        Assert.Equal("1", version.Parameters["seed"]);
        Assert.Equal(["current", "flow", "pressure", "temperature", "vibration_x", "vibration_y", "vibration_z"],
            version.Parameters["features"].Split(',').Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Promote_moves_a_version_to_production_and_archives_the_previous_one()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("state");
        Assert.Equal(0, (await TrainAsync("state", runs, name, "--ignore", "wear,rul", "--promote")).ExitCode);
        Assert.Equal(0, (await TrainAsync("state", runs, name, "--ignore", "wear,rul", "--seed", "2")).ExitCode);

        var promoted = await CliRunner.RunAsync(["model", "promote", name, "2", .. stack.RegistryOptions]);
        var listed = await CliRunner.RunAsync(["model", "list", name, "--json", .. stack.RegistryOptions]);

        Assert.Equal(0, promoted.ExitCode);
        Assert.Contains($"{name} version 2 is now production; version 1 archived", promoted.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(listed.Output);
        Assert.Equal(["2 production", "1 archived"], json.RootElement.EnumerateArray()
            .Select(v => $"{v.GetProperty("version").GetInt32()} {v.GetProperty("stage").GetString()}"));
        Assert.True(json.RootElement[0].GetProperty("metrics").GetProperty("training_accuracy").GetDouble() > 0.5);
    }

    [Fact]
    public async Task List_prints_one_row_per_version_with_its_key_metrics()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("rul");
        Assert.Equal(0, (await TrainAsync("rul", runs, name, "--ignore", "wear,state", "--cap", "300", "--promote")).ExitCode);

        var listed = await CliRunner.RunAsync(["model", "list", name, .. stack.RegistryOptions]);

        Assert.Equal(0, listed.ExitCode);
        var lines = listed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("NAME", lines[0], StringComparison.Ordinal);
        var row = Assert.Single(lines[1..]);
        Assert.Matches($@"^{name}\s+1\s+rul\s+production\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+oof_rmse=[\d.]+ units=6 rows=\d+", row);
    }

    [Fact]
    public async Task Eval_by_name_scores_the_production_version_on_its_training_data_or_a_given_file()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("state");
        Assert.Equal(0, (await TrainAsync("state", runs, name, "--ignore", "wear,rul", "--promote")).ExitCode);
        var other = await TwinData.WriteRunsAsync(stack.Folder);

        var onTraining = await CliRunner.RunAsync(["model", "eval", "--name", name, "--json", .. stack.RegistryOptions]);
        var onOther = await CliRunner.RunAsync(["model", "eval", "--name", name, "--version", "1", "--input", other, .. stack.RegistryOptions]);

        Assert.Equal(0, onTraining.ExitCode);
        Assert.Contains("(its training data)", onTraining.Output, StringComparison.Ordinal);
        using var report = JsonDocument.Parse(onTraining.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.True(report.RootElement.GetProperty("metrics").GetProperty("accuracy").GetDouble() > 0.5);
        Assert.Equal(0, onOther.ExitCode);
        Assert.Contains("recall_healthy", onOther.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eval_of_an_anomaly_model_reports_the_false_positive_rate_on_normal_rows()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var healthy = Path.Combine(stack.Folder, $"healthy-{Guid.NewGuid():N}.csv");
        // The healthy rows of the first unit, without the ground-truth columns.
        var lines = await File.ReadAllLinesAsync(runs);
        var header = lines[0].Split(',');
        var keep = Enumerable.Range(1, header.Length - 1).Where(i => header[i] is not ("wear" or "state" or "rul")).ToArray();
        var state = Array.IndexOf(header, "state");
        var unit = lines[1].Split(',')[0];
        await File.WriteAllLinesAsync(healthy, lines.Take(1).Concat(lines.Skip(1)
            .Where(l => l.Split(',')[0] == unit && l.Split(',')[state] == "HEALTHY"))
            .Select(l => string.Join(',', keep.Select(i => l.Split(',')[i]))));
        var name = RegistryStackFixture.NewName("anomaly");
        Assert.Equal(0, (await TrainAsync("anomaly", healthy, name, "--promote")).ExitCode);

        var result = await CliRunner.RunAsync(["model", "eval", "--name", name, "--input", runs, "--label", "state",
            "--ignore", "unit,wear,rul", .. stack.RegistryOptions]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"false_positive_rate\s+[\d.]+", result.Output);
        Assert.Matches(@"detection_rate\s+0\.[5-9]|detection_rate\s+1", result.Output);
    }

    [Fact]
    public async Task Unknown_names_and_versions_are_reported_with_what_the_registry_holds()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("rul");
        Assert.Equal(0, (await TrainAsync("rul", runs, name, "--ignore", "wear,state", "--cap", "300")).ExitCode);

        var noProduction = await CliRunner.RunAsync(["model", "eval", "--name", name, .. stack.RegistryOptions]);
        var noVersion = await CliRunner.RunAsync(["model", "promote", name, "7", .. stack.RegistryOptions]);
        var noName = await CliRunner.RunAsync(["model", "eval", "--name", "no-such-model", .. stack.RegistryOptions]);

        Assert.Equal(1, noProduction.ExitCode);
        Assert.Contains($"Model '{name}' has no production version; pass --version (versions: 1 (staging))", noProduction.Error, StringComparison.Ordinal);
        Assert.Equal(1, noVersion.ExitCode);
        Assert.Contains($"Model '{name}' has no version 7 (versions: 1 (staging))", noVersion.Error, StringComparison.Ordinal);
        Assert.Equal(1, noName.ExitCode);
        Assert.Contains("No model named 'no-such-model' is registered (models: ", noName.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_name_or_a_name_of_another_kind_is_refused()
    {
        var runs = await TwinData.WriteRunsAsync(stack.Folder);
        var name = RegistryStackFixture.NewName("rul");
        Assert.Equal(0, (await TrainAsync("rul", runs, name, "--ignore", "wear,state", "--cap", "300")).ExitCode);

        var invalid = await TrainAsync("rul", runs, "Bad Name", "--ignore", "wear,state");
        var otherKind = await TrainAsync("state", runs, name, "--ignore", "wear,rul");

        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("Model name 'Bad Name' is invalid", invalid.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Trained", invalid.Output, StringComparison.Ordinal);
        Assert.Equal(1, otherKind.ExitCode);
        Assert.Contains($"Model '{name}' holds rul models, not state", otherKind.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_registry_is_reported_with_the_command_that_starts_the_stack()
    {
        var closed = Pdm.LocalStack.FreePort.Pick();

        var result = await CliRunner.RunAsync("model", "list", "--database",
            $"Host=127.0.0.1;Port={closed};Username=pdm;Password=x;Database=pdm;Timeout=5", "--storage", stack.StorageConnectionString);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("The model registry is unreachable", result.Error, StringComparison.Ordinal);
        Assert.Contains("./pdm stack up", result.Error, StringComparison.Ordinal);
    }

    private Task<CliResult> TrainAsync(string kind, string train, string name, params string[] options) =>
        CliRunner.RunAsync(["model", "train", kind, "--train", train, "--name", name, .. options, .. stack.RegistryOptions]);
}
