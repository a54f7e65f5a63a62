namespace Pdm.Analytics.Data;

/// <summary>
/// Samples of one machine in time order: a time per row and a row-major matrix of feature values (NaN = missing).
/// Times are seconds: Unix seconds for ISO-8601 times, the number itself for numeric times.
/// </summary>
public sealed class SensorTable
{
    private readonly double[] _times;
    private readonly double[] _values;
    private readonly string[]? _timeTexts;

    public SensorTable(IReadOnlyList<string> featureNames, double[] times, double[] values,
        string[]? timeTexts = null, string timeColumn = "time")
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(times);
        ArgumentNullException.ThrowIfNull(values);
        if (featureNames.Count == 0 || values.Length != times.Length * featureNames.Count)
        {
            throw new ArgumentException(
                $"values must hold {times.Length} rows of {featureNames.Count} features", nameof(values));
        }
        if (timeTexts is not null && timeTexts.Length != times.Length)
        {
            throw new ArgumentException("one time text per row is needed", nameof(timeTexts));
        }
        FeatureNames = [.. featureNames];
        TimeColumn = timeColumn;
        _times = times;
        _values = values;
        _timeTexts = timeTexts;
    }

    public string TimeColumn { get; }

    public IReadOnlyList<string> FeatureNames { get; }

    public int RowCount => _times.Length;

    public int ColumnCount => FeatureNames.Count;

    public ReadOnlySpan<double> Times => _times;

    /// <summary>All values, row-major: row r is <c>Values.Slice(r * ColumnCount, ColumnCount)</c>.</summary>
    public ReadOnlySpan<double> Values => _values;

    public ReadOnlySpan<double> Row(int row) => _values.AsSpan(row * ColumnCount, ColumnCount);

    /// <summary>The given rows, in the given order, as a table of their own (copied).</summary>
    public SensorTable Rows(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var p = ColumnCount;
        var times = new double[rows.Count];
        var values = new double[rows.Count * p];
        for (var i = 0; i < rows.Count; i++)
        {
            times[i] = _times[rows[i]];
            _values.AsSpan(rows[i] * p, p).CopyTo(values.AsSpan(i * p, p));
        }
        return new SensorTable(FeatureNames, times, values, _timeTexts is null ? null : [.. rows.Select(r => _timeTexts[r])],
            TimeColumn);
    }

    /// <summary>The time of a row as the file wrote it (the number itself for tables built in code).</summary>
    internal string TimeText(int row) =>
        _timeTexts?[row] ?? _times[row].ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads a whole CSV (see <see cref="SensorCsvReader"/> for the format) into a table.</summary>
    public static SensorTableResult Read(TextReader reader, CsvReadOptions? options = null)
    {
        options ??= new CsvReadOptions();
        var csv = SensorCsvReader.Open(reader, options, out var headerError);
        if (csv is null)
        {
            return new SensorTableResult(null, [headerError!]);
        }

        var width = csv.FeatureNames.Count;
        var times = new List<double>();
        var texts = new List<string>();
        var values = new List<double>();
        var errors = new List<CsvError>();
        var row = new double[width];
        while (errors.Count < options.MaxErrors)
        {
            var status = csv.ReadRow(row, out var time, out var text);
            if (status == CsvRowStatus.End)
            {
                break;
            }
            if (status == CsvRowStatus.Error)
            {
                errors.Add(csv.LastError!);
                continue;
            }
            times.Add(time);
            texts.Add(text);
            values.AddRange(row);
        }
        if (errors.Count > 0)
        {
            return new SensorTableResult(null, errors);
        }
        if (times.Count == 0)
        {
            return new SensorTableResult(null, [new CsvError(2, null, "the file has a header but no data rows")]);
        }
        return new SensorTableResult(
            new SensorTable(csv.FeatureNames, [.. times], [.. values], [.. texts], csv.TimeColumn), []);
    }
}

/// <summary>A table, or the problems that kept the CSV from being read (at most <see cref="CsvReadOptions.MaxErrors"/>).</summary>
public sealed record SensorTableResult(SensorTable? Table, IReadOnlyList<CsvError> Errors)
{
    public bool IsSuccess => Table is not null;
}
