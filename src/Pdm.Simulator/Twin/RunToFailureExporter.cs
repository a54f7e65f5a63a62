using System.Globalization;
using System.Text;

namespace Pdm.Simulator.Twin;

/// <summary>What to simulate for a run-to-failure data set.</summary>
public sealed record RunToFailureOptions
{
    public int Machines { get; init; } = 20;

    /// <summary>Machine n (from 1) is of kind Kinds[(n − 1) mod count].</summary>
    public IReadOnlyList<MachineKind> Kinds { get; init; } = [MachineKind.CentrifugalPump];

    public TwinOptions Twin { get; init; } = new() { Mode = TwinMode.Accelerated };

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    public int Seed { get; init; } = 1;

    /// <summary>Null (or all rates zero) for clean data.</summary>
    public ChaosOptions? Chaos { get; init; }

    public bool ChaosEnabled => Chaos is { } c && (c.GlitchRate > 0 || c.HeatWaveRate > 0 || c.StuckRate > 0 || c.DropRate > 0);

    /// <summary>Null when usable, else what is wrong (the option and why).</summary>
    public string? Validate()
    {
        if (Machines < 1)
        {
            return $"machines is {Machines}: at least 1 machine is needed";
        }
        if (Kinds.Count == 0)
        {
            return "kinds is empty: name at least one machine kind";
        }
        if (Interval <= TimeSpan.Zero)
        {
            return $"interval is {Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: it must be above 0";
        }
        if (Twin.WeibullShape <= 0 || Twin.EffectiveMeanTimeToFailure <= TimeSpan.Zero)
        {
            return "the Weibull shape and the mean time to failure must be above 0";
        }
        return Chaos?.Validate();
    }
}

/// <summary>How far an export has come.</summary>
public sealed record RunToFailureProgress(long RowsWritten, int MachinesFailed, int Machines);

/// <summary>What an export wrote.</summary>
public sealed record RunToFailureSummary
{
    public required long RowsWritten { get; init; }
    public required int MachinesFailed { get; init; }
    public required IReadOnlyList<string> Columns { get; init; }
    public required TimeSpan ShortestLife { get; init; }
    public required TimeSpan LongestLife { get; init; }
    public required TimeSpan MeanLife { get; init; }
}

/// <summary>
/// Runs twin machines one after the other from new until broken and streams one CSV row per sample:
/// <c>unit,time,&lt;sensors&gt;,wear,state,rul</c>, plus a <c>chaos</c> column before <c>rul</c> when chaos is on.
/// <list type="bullet">
/// <item>One file for all kinds: the sensor columns are the union of the kinds' sensors in catalog order; a sensor
/// a machine does not have, or one the chaos engine dropped, is an empty cell (read as missing).</item>
/// <item><c>unit</c> is the machine id (<c>CentrifugalPump_001</c>); <c>time</c> and <c>rul</c> are seconds since
/// that machine started, so <c>pdm model fit rul</c> can read the file with <c>wear</c>, <c>state</c> (and
/// <c>chaos</c>) ignored — <c>wear</c> is ground truth and would leak the answer.</item>
/// <item><c>state</c> is HEALTHY, WARNING, FAULTY or BROKEN; each unit's last row is its first BROKEN one (rul 0).</item>
/// <item><c>chaos</c> lists the injections of the row as <c>Kind:sensor</c> separated by '|'.</item>
/// </list>
/// Seeded: the same options write the same bytes. Each machine's seed comes from the master seed and its id.
/// </summary>
public static class RunToFailureExporter
{
    private const int ProgressEveryRows = 10_000;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IReadOnlyList<string> Columns(RunToFailureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> columns = ["unit", "time", .. SensorColumns(options.Kinds), "wear", "state"];
        if (options.ChaosEnabled)
        {
            columns.Add("chaos");
        }
        columns.Add("rul");
        return columns;
    }

    /// <summary>The id of machine <paramref name="number"/> (from 1) and its kind.</summary>
    public static MachineProfile Unit(RunToFailureOptions options, int number)
    {
        ArgumentNullException.ThrowIfNull(options);
        var kind = options.Kinds[(number - 1) % options.Kinds.Count];
        var id = string.Create(CultureInfo.InvariantCulture, $"{kind}_{number:D3}");
        return new MachineProfile { MachineId = id, Name = id, Kind = kind };
    }

    /// <summary>
    /// Machine <paramref name="number"/>'s samples from new up to and including its first broken one, chaos applied
    /// when enabled. Lazy: one sample at a time.
    /// </summary>
    public static IEnumerable<TwinSample> Run(RunToFailureOptions options, int number)
    {
        ArgumentNullException.ThrowIfNull(options);
        var unit = Unit(options, number);
        var seeds = new FleetDefinition { Seed = options.Seed, Machines = [] };
        var machine = new DegradingMachine(unit, seeds.SeedFor(unit.MachineId), options.Twin);
        var chaos = options.ChaosEnabled ? new ChaosEngine(options.Chaos!, seeds.SeedFor(unit.MachineId + "/chaos")) : null;
        for (long step = 0; ; step++)
        {
            var sample = machine.Step(Start + (options.Interval * step));
            yield return chaos is null ? sample : chaos.Apply(sample);
            if (sample.Truth.State == MachineState.Broken)
            {
                yield break;
            }
        }
    }

    /// <summary>Writes the header and every machine's rows to <paramref name="writer"/>; bad options throw.</summary>
    public static async Task<RunToFailureSummary> ExportAsync(
        TextWriter writer, RunToFailureOptions options, IProgress<RunToFailureProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        var problem = options.Validate();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }
        var sensors = SensorColumns(options.Kinds);
        await writer.WriteLineAsync(string.Join(',', Columns(options)).AsMemory(), cancellationToken);
        var line = new StringBuilder();
        long rows = 0;
        var failed = 0;
        var shortest = TimeSpan.MaxValue;
        var longest = TimeSpan.Zero;
        var total = TimeSpan.Zero;
        for (var number = 1; number <= options.Machines; number++)
        {
            var unit = Unit(options, number).MachineId;
            foreach (var sample in Run(options, number))
            {
                Format(line, unit, sample, sensors, options.ChaosEnabled);
                await writer.WriteLineAsync(line, cancellationToken);
                if (++rows % ProgressEveryRows == 0)
                {
                    progress?.Report(new RunToFailureProgress(rows, failed, options.Machines));
                }
                if (sample.Truth.State == MachineState.Broken)
                {
                    failed++;
                    var life = sample.Truth.Elapsed;
                    shortest = life < shortest ? life : shortest;
                    longest = life > longest ? life : longest;
                    total += life;
                }
            }
            progress?.Report(new RunToFailureProgress(rows, failed, options.Machines));
        }
        await writer.FlushAsync(cancellationToken);
        return new RunToFailureSummary
        {
            RowsWritten = rows,
            MachinesFailed = failed,
            Columns = Columns(options),
            ShortestLife = shortest,
            LongestLife = longest,
            MeanLife = total / failed,
        };
    }

    private static List<string> SensorColumns(IEnumerable<MachineKind> kinds)
    {
        var used = kinds.SelectMany(MachineProfile.SensorsOf).Select(s => s.Sensor).ToHashSet(StringComparer.Ordinal);
        return [.. SimulatedSensors.All.Select(s => s.Sensor).Where(used.Contains)];
    }

    private static void Format(StringBuilder line, string unit, TwinSample sample, List<string> sensors, bool chaos)
    {
        var inv = CultureInfo.InvariantCulture;
        line.Clear().Append(unit).Append(',').Append(Math.Round(sample.Truth.Elapsed.TotalSeconds, 3).ToString(inv));
        foreach (var sensor in sensors)
        {
            line.Append(',');
            foreach (var value in sample.Values)
            {
                if (value.Sensor == sensor)
                {
                    line.Append(value.Value.ToString(inv));
                    break;
                }
            }
        }
        line.Append(',').Append(sample.Truth.Wear.ToString("0.######", inv))
            .Append(',').Append(sample.Truth.State.ToString().ToUpperInvariant());
        if (chaos)
        {
            line.Append(',').AppendJoin('|', sample.Truth.Chaos.Select(c => $"{c.Kind}:{c.Sensor}"));
        }
        line.Append(',').Append(Math.Round(sample.Truth.RemainingUsefulLife.TotalSeconds, 3).ToString(inv));
    }
}
