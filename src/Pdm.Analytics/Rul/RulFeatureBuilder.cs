using System.Globalization;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>
/// Turns any unit/time/measurements table into model features, causally: the features of
/// row t use only rows 0..t of the same unit, so a prediction made live equals the one made
/// in hindsight. Fitted on training units: drops constant columns and standardises the rest
/// (so window means and slopes are comparable across sensors), then adds per kept column the
/// current value, rolling means and slopes, and the drift from the unit's own baseline.
/// </summary>
public sealed class RulFeatureBuilder
{
    private readonly RulFeatureOptions _options;
    private readonly int[] _kept;
    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly string[] _names;

    private RulFeatureBuilder(RulFeatureOptions options, int inputColumns, int[] kept, double[] mean, double[] scale, string[] inputNames)
    {
        _options = options;
        InputColumns = inputColumns;
        _kept = kept;
        _mean = mean;
        _scale = scale;
        InputNames = inputNames;
        _names = BuildNames();
    }

    public RulFeatureOptions Options => _options;

    /// <summary>Columns of the input table.</summary>
    public int InputColumns { get; }

    public IReadOnlyList<string> InputNames { get; }

    /// <summary>Input columns kept (not constant on the training units).</summary>
    public IReadOnlyList<int> KeptColumns => _kept;

    /// <summary>One name per output feature, e.g. "s11", "s11.mean10", "s11.slope10", "s11.drift", "age".</summary>
    public IReadOnlyList<string> FeatureNames => _names;

    public static RulFeatureBuilder Fit(IReadOnlyList<UnitSeries> units, RulFeatureOptions options, IReadOnlyList<string>? columnNames = null)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        if (units.Count == 0)
        {
            throw new ArgumentException("At least one unit is required.", nameof(units));
        }

        var columns = units[0].Values.Columns;
        if (units.Any(u => u.Values.Columns != columns))
        {
            throw new ArgumentException($"Units differ in column count (first has {columns}).", nameof(units));
        }

        var names = columnNames?.ToArray() ?? [.. Enumerable.Range(0, columns).Select(c => "x" + c.ToString(CultureInfo.InvariantCulture))];
        if (names.Length != columns)
        {
            throw new ArgumentException($"{names.Length} column names for {columns} columns.", nameof(columnNames));
        }

        var kept = new List<int>();
        var means = new List<double>();
        var scales = new List<double>();
        for (var c = 0; c < columns; c++)
        {
            // Two passes (mean, then squared deviations) keep precision for large-offset sensors.
            double sum = 0;
            long count = 0;
            foreach (var unit in units)
            {
                for (var r = 0; r < unit.Length; r++)
                {
                    var v = unit.Values[r, c];
                    if (double.IsFinite(v))
                    {
                        sum += v;
                        count++;
                    }
                }
            }

            if (count < 2)
            {
                continue;
            }

            var mean = sum / count;
            double squares = 0;
            foreach (var unit in units)
            {
                for (var r = 0; r < unit.Length; r++)
                {
                    var v = unit.Values[r, c];
                    if (double.IsFinite(v))
                    {
                        squares += (v - mean) * (v - mean);
                    }
                }
            }

            var std = Math.Sqrt(squares / (count - 1));
            if (std > options.ConstantTolerance * Math.Max(1, Math.Abs(mean)))
            {
                kept.Add(c);
                means.Add(mean);
                scales.Add(std);
            }
        }

        return new RulFeatureBuilder(options, columns, [.. kept], [.. means], [.. scales], names);
    }

    /// <summary>Features for every row of <paramref name="unit"/>; row t depends only on rows 0..t.</summary>
    public FeatureMatrix Transform(UnitSeries unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        if (unit.Values.Columns != InputColumns)
        {
            throw new ArgumentException($"Unit {unit.Unit} has {unit.Values.Columns} columns, the features were fitted on {InputColumns}.", nameof(unit));
        }

        var rows = unit.Length;
        var output = new FeatureMatrix(rows, _names.Length);
        var time = unit.Time;
        var z = new double[rows];
        var perColumn = FeaturesPerColumn;
        var longest = _options.Windows.Max();
        for (var k = 0; k < _kept.Length; k++)
        {
            for (var r = 0; r < rows; r++)
            {
                z[r] = (unit.Values[r, _kept[k]] - _mean[k]) / _scale[k];
            }

            for (var t = 0; t < rows; t++)
            {
                var row = output.Row(t).Slice(k * perColumn, perColumn);
                var i = 0;
                row[i++] = z[t];
                foreach (var window in _options.Windows)
                {
                    var (mean, slope) = WindowStats(z, time, Math.Max(0, t - window + 1), t);
                    row[i++] = mean;
                    if (_options.IncludeSlopes)
                    {
                        row[i++] = slope;
                    }
                }

                if (_options.IncludeBaselineDelta)
                {
                    var recent = WindowStats(z, time, Math.Max(0, t - longest + 1), t).Mean;
                    var baseline = WindowStats(z, time, 0, Math.Min(t, _options.BaselineRows - 1)).Mean;
                    row[i] = recent - baseline;
                }
            }
        }

        if (_options.IncludeAge)
        {
            for (var t = 0; t < rows; t++)
            {
                output[t, _names.Length - 1] = time[t] - time[0];
            }
        }

        return output;
    }

    private int FeaturesPerColumn =>
        1 + (_options.Windows.Count * (_options.IncludeSlopes ? 2 : 1)) + (_options.IncludeBaselineDelta ? 1 : 0);

    /// <summary>Mean of the finite values in rows first..last and their least-squares slope against time (NaN/0 when too few).</summary>
    private static (double Mean, double Slope) WindowStats(double[] z, ReadOnlySpan<double> time, int first, int last)
    {
        double sumZ = 0, sumT = 0;
        var n = 0;
        for (var r = first; r <= last; r++)
        {
            if (double.IsFinite(z[r]))
            {
                sumZ += z[r];
                sumT += time[r];
                n++;
            }
        }

        if (n == 0)
        {
            return (double.NaN, double.NaN);
        }

        var meanZ = sumZ / n;
        var meanT = sumT / n;
        double covariance = 0, variance = 0;
        for (var r = first; r <= last; r++)
        {
            if (double.IsFinite(z[r]))
            {
                var dt = time[r] - meanT;
                covariance += dt * (z[r] - meanZ);
                variance += dt * dt;
            }
        }

        return (meanZ, variance > 0 ? covariance / variance : 0);
    }

    private string[] BuildNames()
    {
        var names = new List<string>();
        foreach (var c in _kept)
        {
            var name = InputNames[c];
            names.Add(name);
            foreach (var window in _options.Windows)
            {
                var w = window.ToString(CultureInfo.InvariantCulture);
                names.Add($"{name}.mean{w}");
                if (_options.IncludeSlopes)
                {
                    names.Add($"{name}.slope{w}");
                }
            }

            if (_options.IncludeBaselineDelta)
            {
                names.Add($"{name}.drift");
            }
        }

        if (_options.IncludeAge)
        {
            names.Add("age");
        }

        return [.. names];
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(_options.Windows.Count);
        foreach (var window in _options.Windows)
        {
            writer.Write(window);
        }

        writer.Write(_options.IncludeSlopes);
        writer.Write(_options.IncludeBaselineDelta);
        writer.Write(_options.BaselineRows);
        writer.Write(_options.IncludeAge);
        writer.Write(_options.ConstantTolerance);
        writer.Write(InputColumns);
        foreach (var name in InputNames)
        {
            writer.Write(name);
        }

        writer.Write(_kept.Length);
        for (var k = 0; k < _kept.Length; k++)
        {
            writer.Write(_kept[k]);
            writer.Write(_mean[k]);
            writer.Write(_scale[k]);
        }
    }

    internal static RulFeatureBuilder Read(BinaryReader reader)
    {
        var windows = new int[Bounded(reader.ReadInt32(), 1, 1000, "window count")];
        for (var i = 0; i < windows.Length; i++)
        {
            windows[i] = reader.ReadInt32();
        }

        var options = new RulFeatureOptions
        {
            Windows = windows,
            IncludeSlopes = reader.ReadBoolean(),
            IncludeBaselineDelta = reader.ReadBoolean(),
            BaselineRows = reader.ReadInt32(),
            IncludeAge = reader.ReadBoolean(),
            ConstantTolerance = reader.ReadDouble(),
        };
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidDataException("Stored feature options are invalid: " + string.Join(" ", problems));
        }

        var inputColumns = Bounded(reader.ReadInt32(), 1, 1 << 20, "input column count");
        var names = new string[inputColumns];
        for (var c = 0; c < inputColumns; c++)
        {
            names[c] = reader.ReadString();
        }

        var count = Bounded(reader.ReadInt32(), 0, inputColumns, "kept column count");
        var kept = new int[count];
        var mean = new double[count];
        var scale = new double[count];
        for (var k = 0; k < count; k++)
        {
            kept[k] = Bounded(reader.ReadInt32(), 0, inputColumns - 1, "kept column");
            mean[k] = reader.ReadDouble();
            scale[k] = reader.ReadDouble();
        }

        return new RulFeatureBuilder(options, inputColumns, kept, mean, scale, names);
    }

    internal static int Bounded(int value, int min, int max, string what) =>
        value >= min && value <= max ? value : throw new InvalidDataException($"Stored {what} {value} is outside {min}..{max}.");
}
