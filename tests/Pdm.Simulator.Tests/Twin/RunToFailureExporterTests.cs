using System.Globalization;
using Pdm.Simulator.Twin;

namespace Pdm.Simulator.Tests.Twin;

public class RunToFailureExporterTests
{
    private static readonly RunToFailureOptions Pumps = new()
    {
        Machines = 6,
        Twin = new TwinOptions { Mode = TwinMode.Stress },
        Interval = TimeSpan.FromSeconds(0.5),
        Seed = 3,
    };

    private static async Task<(string Csv, RunToFailureSummary Summary, List<RunToFailureProgress> Progress)> ExportAsync(RunToFailureOptions options)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var progress = new List<RunToFailureProgress>();
        var summary = await RunToFailureExporter.ExportAsync(writer, options, new SynchronousProgress(progress), CancellationToken.None);
        return (writer.ToString(), summary, progress);
    }

    private static List<string[]> Rows(string csv) =>
        [.. csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.TrimEnd('\r').Split(','))];

    [Fact]
    public async Task Pump_export_has_the_header_and_numeric_rows_with_rul_falling_to_zero_per_unit()
    {
        var (csv, summary, progress) = await ExportAsync(Pumps);

        var header = csv[..csv.IndexOf('\n', StringComparison.Ordinal)].TrimEnd('\r');
        Assert.Equal("unit,time,temperature,pressure,vibration_x,vibration_y,vibration_z,flow,current,wear,state,rul", header);
        var rows = Rows(csv);
        Assert.Equal(summary.RowsWritten, rows.Count);
        Assert.Equal(6, summary.MachinesFailed);
        Assert.Equal(new RunToFailureProgress(rows.Count, 6, 6), progress[^1]);
        var units = rows.GroupBy(r => r[0]).ToList();
        Assert.Equal(6, units.Count);
        foreach (var unit in units)
        {
            var unitRows = unit.ToList();
            foreach (var row in unitRows)
            {
                Assert.All(row.Skip(1).Where((_, i) => i != 9), cell =>
                    Assert.True(double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"'{cell}' in {string.Join(',', row)}"));
            }
            var times = unitRows.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)).ToList();
            var rul = unitRows.Select(r => double.Parse(r[^1], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(0, times[0]);
            Assert.All(times.Zip(times.Skip(1)), p => Assert.Equal(0.5, p.Second - p.First, 6));
            Assert.All(rul.Zip(rul.Skip(1)), p => Assert.True(p.Second < p.First || p.Second == 0, $"{unit.Key}: rul {p.First} then {p.Second}"));
            Assert.Equal(0, rul[^1]);
            Assert.Equal("BROKEN", unitRows[^1][^2]);
            Assert.Equal("HEALTHY", unitRows[0][^2]);
            Assert.All(unitRows.SkipLast(1), r => Assert.NotEqual("BROKEN", r[^2]));
        }
    }

    [Fact]
    public async Task Same_options_write_the_same_bytes_and_another_seed_other_data()
    {
        var first = await ExportAsync(Pumps);
        var second = await ExportAsync(Pumps);
        var other = await ExportAsync(Pumps with { Seed = 4 });

        Assert.Equal(first.Csv, second.Csv);
        Assert.NotEqual(first.Csv, other.Csv);
    }

    [Fact]
    public async Task Mixed_kinds_share_one_file_with_empty_cells_for_sensors_a_kind_lacks()
    {
        var options = Pumps with { Machines = 3, Kinds = [MachineKind.CncMill, MachineKind.QualityTester, MachineKind.CentrifugalPump] };

        var (csv, summary, _) = await ExportAsync(options);

        Assert.Equal(
            ["unit", "time", "temperature", "spindle_speed", "vibration", "pressure", "precision", "test_cycles",
             "vibration_x", "vibration_y", "vibration_z", "flow", "current", "wear", "state", "rul"],
            summary.Columns);
        var rows = Rows(csv);
        Assert.Equal(["CncMill_001", "QualityTester_002", "CentrifugalPump_003"], rows.Select(r => r[0]).Distinct());
        var tester = rows.First(r => r[0] == "QualityTester_002");
        Assert.Equal(["", "", "", ""], [tester[2], tester[3], tester[4], tester[5]]);
        Assert.NotEqual("", tester[6]);
    }

    [Fact]
    public async Task Chaos_adds_a_label_column_and_empty_cells_for_dropped_sensors()
    {
        var options = Pumps with { Chaos = ChaosOptions.Uniform(0.05) };

        var (csv, summary, _) = await ExportAsync(options);

        Assert.Equal("chaos", summary.Columns[^2]);
        var rows = Rows(csv);
        var dropped = rows.Where(r => r[^2].Contains("DroppedSensor:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(dropped);
        Assert.All(dropped, r => Assert.Contains("", r[2..9]));
        Assert.Contains(rows, r => r[^2].Contains("VibrationGlitch:vibration_", StringComparison.Ordinal));
        Assert.Contains(rows, r => r[^2].Length == 0);
    }

    [Fact]
    public async Task Every_machine_breaks_within_a_few_mean_lives()
    {
        var options = Pumps with { Machines = 40, Kinds = Enum.GetValues<MachineKind>(), Interval = TimeSpan.FromSeconds(2) };

        var (_, summary, _) = await ExportAsync(options);

        Assert.Equal(40, summary.MachinesFailed);
        Assert.True(summary.LongestLife < TimeSpan.FromSeconds(150 * 4), $"longest life {summary.LongestLife}");
        Assert.InRange(summary.MeanLife.TotalSeconds, 150 * 0.7, 150 * 1.3);
    }

    [Fact]
    public async Task Bad_options_are_refused_with_the_reason()
    {
        Assert.Contains("machines", (Pumps with { Machines = 0 }).Validate(), StringComparison.Ordinal);
        Assert.Contains("interval", (Pumps with { Interval = TimeSpan.Zero }).Validate(), StringComparison.Ordinal);
        Assert.Contains("kinds", (Pumps with { Kinds = [] }).Validate(), StringComparison.Ordinal);
        Assert.Contains("GlitchRate", (Pumps with { Chaos = new ChaosOptions { GlitchRate = 2 } }).Validate(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => ExportAsync(Pumps with { Machines = -1 }));
    }

    // Progress<T> posts to the thread pool; the test wants every report, in order, before the export returns.
    private sealed class SynchronousProgress(List<RunToFailureProgress> reports) : IProgress<RunToFailureProgress>
    {
        public void Report(RunToFailureProgress value) => reports.Add(value);
    }
}
