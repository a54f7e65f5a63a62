using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;
using Pdm.Simulator;
using Pdm.Simulator.Twin;
using Xunit.Abstractions;

namespace Pdm.Cli.Tests;

/// <summary>
/// The demo plant's models, trained as the demo trains them, predict machines they never saw as Predict would: a
/// window of two machine days on the readings' clock, turned into machine time. The 24 h and 48 h failure
/// probabilities must mean what they say: low while the machine has days left, high in its last machine day.
/// </summary>
public sealed class DemoPlantPredictionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly PlantOptions Plant = new();
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan History = TimeSpan.FromHours(48);
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Directory.CreateTempSubdirectory("pdm-demo-plant-").FullName;

    [Fact]
    public async Task Failure_probabilities_rise_within_the_horizons_they_claim_for_machines_the_models_never_saw()
    {
        const MachineKind kind = MachineKind.CentrifugalPump;
        var runs = Path.Combine(_folder, "runs.csv");
        await using (var writer = new StreamWriter(runs))
        {
            await RunToFailureExporter.ExportAsync(writer, DemoModels.TrainingOptions(kind, Plant, PollInterval), null, CancellationToken.None);
        }
        var rul = RulModel.Read(new MemoryStream(ModelFitting.Fit(DemoModels.RulSettings(runs, Plant))!.Artifact));
        var state = StateModel.Read(new MemoryStream(ModelFitting.Fit(DemoModels.StateSettings(runs))!.Artifact));
        Assert.DoesNotContain("age", rul.Features.FeatureNames);

        var points = new List<(double TrueRulHours, double P24, double P48)>();
        foreach (var seed in new[] { 101, 202, 303, 404 })
        {
            // Installed half-way through its life, as the demo's machines are, and run to failure at the poll interval.
            var machine = new DegradingMachine(new MachineProfile { MachineId = $"P{seed}", Name = "Cooling water pump", Kind = kind },
                seed, Plant.Twin, startAge: 0.5);
            var samples = new List<TwinSample>();
            for (var step = 0; samples.Count == 0 || samples[^1].Truth.State != MachineState.Broken; step++)
            {
                samples.Add(machine.Step(Start + (PollInterval * step)));
            }
            var machinePoints = new List<(double, double, double)>();
            // Predict runs every 10 s of the wall clock; until the machine breaks.
            for (var last = 10; last < samples.Count - 1; last += 10)
            {
                var prediction = MachinePredictor.Predict(Window(samples, last), state, rul, AnomalyPicture.None);
                machinePoints.Add((samples[last].Truth.RemainingUsefulLife.TotalHours, prediction.FailureProbability24h!.Value,
                    prediction.FailureProbability48h!.Value));
            }
            var firstAlarm = machinePoints.FirstOrDefault(p => p.Item2 >= 0.5);
            output.WriteLine($"seed {seed}: life {machine.TimeToFailure.TotalDays:0.0} d, P(24 h) first >= 50 % with {firstAlarm.Item1:0} h left");
            Assert.True(firstAlarm != default, $"seed {seed}: P(24 h) never reached 50 %");
            Assert.InRange(firstAlarm.Item1, 0, 72);
            points.AddRange(machinePoints);
        }

        var farFromFailure = points.Where(p => p.TrueRulHours > 96).ToList();
        var lastDay = points.Where(p => p.TrueRulHours <= 24).ToList();
        var lastTwoDays = points.Where(p => p.TrueRulHours <= 48).ToList();
        output.WriteLine($"RUL > 96 h: mean P24 {farFromFailure.Average(p => p.P24):0.000}, P24 >= 20 % in {farFromFailure.Count(p => p.P24 >= 0.2)} of {farFromFailure.Count}");
        output.WriteLine($"RUL <= 24 h: mean P24 {lastDay.Average(p => p.P24):0.000}; RUL <= 48 h: mean P48 {lastTwoDays.Average(p => p.P48):0.000}");

        Assert.All(points, p => Assert.True(p.P24 <= p.P48 + 1e-12));
        Assert.True(farFromFailure.Average(p => p.P24) < 0.05, "machines with days left must look safe for the next 24 h");
        Assert.True(farFromFailure.Count(p => p.P24 >= 0.2) <= farFromFailure.Count / 50, "at most 2 % false HIGH risk far from failure");
        Assert.True(lastDay.Average(p => p.P24) > 0.5, "in its last machine day a machine must look likely to fail within 24 h");
        Assert.True(lastTwoDays.Average(p => p.P48) > 0.5, "in its last two machine days a machine must look likely to fail within 48 h");
    }

    /// <summary>What Predict's window holds at sample <paramref name="last"/>: two machine days of samples, times in machine seconds.</summary>
    private static MachineWindow Window(List<TwinSample> samples, int last)
    {
        var from = samples[last].Timestamp - Plant.ToWall(History);
        var first = samples.FindIndex(s => s.Timestamp >= from);
        var rows = last - first + 1;
        var sensors = samples[0].Machine.Sensors.Select(s => s.Sensor).ToList();
        var values = new FeatureMatrix(rows, sensors.Count);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < sensors.Count; c++)
            {
                values[r, c] = samples[first + r].Values[c].Value;
            }
        }
        return MachineWindow.FromReadingsClock(samples[0].Machine.MachineId, [.. samples.Skip(first).Take(rows).Select(s => s.Timestamp)],
            sensors, values, Plant.Compression);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

public sealed class DemoPlantStatusTests
{
    [Fact]
    public void The_status_shows_machine_time_compression_and_the_plant_census()
    {
        var status = DemoCommand.PlantStatus(TimeSpan.FromHours(31.2), new PlantCensus(Healthy: 6, Degrading: 1, Failed: 1, Replacements: 4));

        Assert.Equal("plant day 2 07:12 (x1440)  |  6 healthy, 1 degrading, 1 failed, 4 replaced", status);
    }
}
