using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Health;

/// <summary>
/// A machine's recent samples as a time x sensor table: time in seconds of machine time (any origin, increasing;
/// the readings' clock times the time scale of a compressed twin), one column per sensor the machine sent, NaN
/// where a sample lacks a sensor.
/// </summary>
public sealed class MachineWindow
{
    private readonly double[] _time;
    private readonly Dictionary<string, int> _columns;

    public MachineWindow(string machineId, double[] time, IReadOnlyList<string> sensors, FeatureMatrix values)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(sensors);
        ArgumentNullException.ThrowIfNull(values);
        if (time.Length != values.Rows || sensors.Count != values.Columns)
        {
            throw new ArgumentException($"Machine {machineId}: {time.Length} times and {sensors.Count} sensors for a {values.Rows} x {values.Columns} table.", nameof(values));
        }

        MachineId = machineId;
        _time = time;
        Sensors = sensors;
        Values = values;
        _columns = sensors.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>
    /// A window from samples stamped on the readings' clock: times from the first sample, in seconds, times
    /// <paramref name="timeScale"/> (machine time per second of that clock; 1 for real machines).
    /// </summary>
    public static MachineWindow FromReadingsClock(string machineId, IReadOnlyList<DateTimeOffset> timestamps, IReadOnlyList<string> sensors,
        FeatureMatrix values, double timeScale)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        if (!(timeScale > 0) || double.IsInfinity(timeScale))
        {
            throw new ArgumentOutOfRangeException(nameof(timeScale), timeScale, "The time scale must be a positive number.");
        }

        var origin = timestamps.Count > 0 ? timestamps[0] : default;
        var time = timestamps.Select(t => (t - origin).TotalSeconds * timeScale).ToArray();
        return new MachineWindow(machineId, time, sensors, values);
    }

    public string MachineId { get; }

    public ReadOnlySpan<double> Time => _time;

    public IReadOnlyList<string> Sensors { get; }

    public FeatureMatrix Values { get; }

    public int Length => _time.Length;

    /// <summary>
    /// Rows <paramref name="firstRow"/>.. as a unit with the given columns in that order (a sensor the machine does
    /// not send is all NaN), time counted from the first of those rows, as the models were trained.
    /// </summary>
    public UnitSeries ToUnit(IReadOnlyList<string> columns, int firstRow = 0)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(firstRow);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(firstRow, Length);
        var rows = Length - firstRow;
        var values = new FeatureMatrix(rows, columns.Count);
        var time = new double[rows];
        for (var r = 0; r < rows; r++)
        {
            time[r] = _time[firstRow + r] - _time[firstRow];
        }

        for (var c = 0; c < columns.Count; c++)
        {
            var source = _columns.TryGetValue(columns[c], out var index) ? index : -1;
            for (var r = 0; r < rows; r++)
            {
                values[r, c] = source >= 0 ? Values[firstRow + r, source] : double.NaN;
            }
        }

        return new UnitSeries(MachineId, time, values);
    }
}
