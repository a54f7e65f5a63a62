using System.Globalization;
using System.Text;

namespace Pdm.Analytics.Data;

/// <summary>What <see cref="SensorCsvReader.ReadRow"/> found.</summary>
public enum CsvRowStatus
{
    Row,
    End,
    Error,
}

/// <summary>
/// Reads a sensor CSV one row at a time: a header, one time column, every other column a numeric feature.
/// <list type="bullet">
/// <item>The separator is ',', ';' or tab, whichever the header uses most (outside quotes).</item>
/// <item>Fields may be quoted with '"' ("" inside quotes is a quote; quoted fields may span lines).</item>
/// <item>An empty cell, <c>NA</c>, <c>N/A</c>, <c>NaN</c>, <c>null</c> or a non-finite number is a missing value: NaN.</item>
/// <item>With ';' or tab as separator a decimal comma is accepted (<c>1,5</c>), as European exports write it.</item>
/// <item>Times are numbers (taken as they are) or ISO-8601 date-times (Unix seconds, UTC when no offset is given);
/// the first data row decides which, and every row must agree.</item>
/// <item>Blank lines are skipped.</item>
/// </list>
/// Bad input is reported as a <see cref="CsvError"/> naming the row and column, never thrown.
/// </summary>
public sealed class SensorCsvReader
{
    private const int MaxShownText = 40;

    private readonly TextReader _reader;
    private readonly int _timeIndex;
    private readonly int _keyIndex;
    private readonly int _labelIndex;
    private readonly int[] _featureIndex;
    private readonly string[] _header;
    private readonly List<(int Start, int Length, bool Escaped)> _fields = [];
    private readonly StringBuilder _record = new();
    private bool? _numericTimes;
    private int _firstTimeRow;

    private SensorCsvReader(TextReader reader, char separator, string[] header, int timeIndex, int keyIndex, int labelIndex, int[] featureIndex)
    {
        _reader = reader;
        Separator = separator;
        _header = header;
        _timeIndex = timeIndex;
        _keyIndex = keyIndex;
        _labelIndex = labelIndex;
        _featureIndex = featureIndex;
        FeatureNames = [.. featureIndex.Select(i => header[i])];
        Row = 1;
    }

    public char Separator { get; }

    public string TimeColumn => _header[_timeIndex];

    /// <summary>The unit named by <see cref="CsvReadOptions.KeyColumn"/> in the row last read; empty without one.</summary>
    public string KeyText { get; private set; } = "";

    /// <summary>The label named by <see cref="CsvReadOptions.LabelColumn"/> in the row last read; empty without one.</summary>
    public string LabelText { get; private set; } = "";

    /// <summary>The feature columns in file order; <see cref="ReadRow"/> fills values in this order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The row last read (header = 1).</summary>
    public int Row { get; private set; }

    /// <summary>The error of the last <see cref="ReadRow"/> that returned <see cref="CsvRowStatus.Error"/>.</summary>
    public CsvError? LastError { get; private set; }

    /// <summary>Reads the header and checks it; the reader is positioned at the first data row.</summary>
    public static SensorCsvReader? Open(TextReader reader, CsvReadOptions options, out CsvError? error)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        var line = reader.ReadLine();
        while (line is not null && line.Trim().Length == 0)
        {
            line = reader.ReadLine();
        }
        if (line is null)
        {
            error = new CsvError(1, null, "the file is empty: expected a header row");
            return null;
        }
        line = line.TrimStart('\uFEFF');
        var separator = DetectSeparator(line);
        if (separator is null)
        {
            error = new CsvError(1, null,
                "the header has a single column: expected a time column and features separated by ',' or ';'");
            return null;
        }

        var header = SplitHeader(line, separator.Value);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i].Length == 0)
            {
                error = new CsvError(1, null, $"row 1: column {i + 1} has an empty name");
                return null;
            }
            if (!seen.Add(header[i]))
            {
                error = new CsvError(1, header[i], $"row 1: column '{header[i]}' appears twice");
                return null;
            }
        }

        var timeIndex = options.TimeColumn is null ? 0 : Array.IndexOf(header, options.TimeColumn);
        if (timeIndex < 0)
        {
            error = new CsvError(1, options.TimeColumn,
                $"row 1: no time column '{options.TimeColumn}' (columns: {string.Join(", ", header)})");
            return null;
        }
        var keyIndex = options.KeyColumn is null ? -1 : Array.IndexOf(header, options.KeyColumn);
        if (options.KeyColumn is not null && (keyIndex < 0 || keyIndex == timeIndex))
        {
            error = new CsvError(1, options.KeyColumn,
                $"row 1: no unit column '{options.KeyColumn}' besides the time column (columns: {string.Join(", ", header)})");
            return null;
        }
        var labelIndex = options.LabelColumn is null ? -1 : Array.IndexOf(header, options.LabelColumn);
        if (options.LabelColumn is not null && (labelIndex < 0 || labelIndex == timeIndex || labelIndex == keyIndex))
        {
            error = new CsvError(1, options.LabelColumn,
                $"row 1: no label column '{options.LabelColumn}' (columns: {string.Join(", ", header)})");
            return null;
        }
        var ignored = new HashSet<string>(options.IgnoreColumns, StringComparer.Ordinal);
        var features = Enumerable.Range(0, header.Length)
            .Where(i => i != timeIndex && i != keyIndex && i != labelIndex && !ignored.Contains(header[i]))
            .ToArray();
        if (features.Length == 0)
        {
            error = new CsvError(1, null, "row 1: no feature columns besides the time column");
            return null;
        }
        error = null;
        return new SensorCsvReader(reader, separator.Value, header, timeIndex, keyIndex, labelIndex, features);
    }

    /// <summary>
    /// Reads the next row: <paramref name="values"/> (length <see cref="FeatureNames"/>.Count) gets the features,
    /// NaN where missing; <paramref name="time"/> the parsed time; <paramref name="timeText"/> the time as written.
    /// </summary>
    public CsvRowStatus ReadRow(Span<double> values, out double time, out string timeText)
    {
        if (values.Length != _featureIndex.Length)
        {
            throw new ArgumentException($"expected a span of {_featureIndex.Length} values", nameof(values));
        }
        time = double.NaN;
        timeText = "";
        if (!ReadRecord(out var record))
        {
            return CsvRowStatus.End;
        }
        Row++;
        Split(record);
        if (_fields.Count != _header.Length)
        {
            return Fail(null, $"row {Row} has {_fields.Count} fields, the header has {_header.Length}");
        }

        if (_keyIndex >= 0)
        {
            KeyText = Field(record, _keyIndex).Trim().ToString();
            if (KeyText.Length == 0)
            {
                return Fail(_header[_keyIndex], $"row {Row}, column '{_header[_keyIndex]}': the unit is missing");
            }
        }
        if (_labelIndex >= 0)
        {
            LabelText = Field(record, _labelIndex).Trim().ToString();
            if (LabelText.Length == 0)
            {
                return Fail(_header[_labelIndex], $"row {Row}, column '{_header[_labelIndex]}': the label is missing");
            }
        }
        timeText = Field(record, _timeIndex).Trim().ToString();
        if (!TryParseTime(timeText, out time))
        {
            return CsvRowStatus.Error;
        }
        for (var j = 0; j < _featureIndex.Length; j++)
        {
            var column = _featureIndex[j];
            var text = Field(record, column).Trim();
            if (!TryParseValue(text, out values[j]))
            {
                return Fail(_header[column], $"row {Row}, column '{_header[column]}': '{Shown(text)}' is not a number");
            }
        }
        return CsvRowStatus.Row;
    }

    private CsvRowStatus Fail(string? column, string message)
    {
        LastError = new CsvError(Row, column, message);
        return CsvRowStatus.Error;
    }

    private bool TryParseTime(string text, out double time)
    {
        time = double.NaN;
        var column = TimeColumn;
        if (text.Length == 0)
        {
            Fail(column, $"row {Row}, column '{column}': the time is missing");
            return false;
        }
        var isNumber = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number);
        if (_numericTimes is null)
        {
            _numericTimes = isNumber;
            _firstTimeRow = Row;
        }
        if (_numericTimes.Value)
        {
            if (!isNumber)
            {
                Fail(column, $"row {Row}, column '{column}': '{Shown(text)}' is not a number " +
                    $"(times in this file are numbers, as in row {_firstTimeRow})");
                return false;
            }
            time = number;
            return true;
        }
        if (isNumber || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var stamp))
        {
            Fail(column, $"row {Row}, column '{column}': '{Shown(text)}' is not an ISO-8601 time " +
                $"(times in this file are date-times, as in row {_firstTimeRow})");
            return false;
        }
        time = (stamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;
        return true;
    }

    private bool TryParseValue(ReadOnlySpan<char> text, out double value)
    {
        value = double.NaN;
        if (IsMissing(text))
        {
            return true;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            value = double.IsFinite(parsed) ? parsed : double.NaN;
            return true;
        }
        // Decimal comma: only when the comma cannot be the separator.
        if (Separator != ',' && text.Length <= 64 && text.Count(',') == 1 && !text.Contains('.'))
        {
            Span<char> copy = stackalloc char[text.Length];
            text.CopyTo(copy);
            copy.Replace(',', '.');
            if (double.TryParse(copy, NumberStyles.Float, CultureInfo.InvariantCulture, out parsed))
            {
                value = double.IsFinite(parsed) ? parsed : double.NaN;
                return true;
            }
        }
        return false;
    }

    private static bool IsMissing(ReadOnlySpan<char> text) =>
        text.Length == 0
        || text.Equals("NA", StringComparison.OrdinalIgnoreCase)
        || text.Equals("N/A", StringComparison.OrdinalIgnoreCase)
        || text.Equals("NaN", StringComparison.OrdinalIgnoreCase)
        || text.Equals("null", StringComparison.OrdinalIgnoreCase);

    private static string Shown(ReadOnlySpan<char> text) =>
        text.Length <= MaxShownText ? text.ToString() : string.Concat(text[..MaxShownText], "...");

    /// <summary>Reads one record, joining lines while a quote is open; skips blank lines.</summary>
    private bool ReadRecord(out string record)
    {
        string? line;
        do
        {
            line = _reader.ReadLine();
            if (line is null)
            {
                record = "";
                return false;
            }
        }
        while (line.Trim().Length == 0);

        if (!HasOpenQuote(line))
        {
            record = line;
            return true;
        }
        _record.Clear().Append(line);
        while (HasOpenQuote(_record) && (line = _reader.ReadLine()) is not null)
        {
            _record.Append('\n').Append(line);
        }
        record = _record.ToString();
        return true;
    }

    private static bool HasOpenQuote(string text) => text.Count('"') % 2 == 1;

    private static bool HasOpenQuote(StringBuilder text)
    {
        var count = 0;
        foreach (var chunk in text.GetChunks())
        {
            count += chunk.Span.Count('"');
        }
        return count % 2 == 1;
    }

    private void Split(string record) => SplitInto(record, Separator, _fields);

    private static void SplitInto(string record, char separator, List<(int Start, int Length, bool Escaped)> fields)
    {
        fields.Clear();
        var i = 0;
        while (true)
        {
            var start = i;
            while (start < record.Length && record[start] == ' ')
            {
                start++;
            }
            if (start < record.Length && record[start] == '"')
            {
                // Quoted field: content runs to the closing quote; "" is an escaped quote.
                var contentStart = start + 1;
                var j = contentStart;
                var escaped = false;
                while (j < record.Length)
                {
                    if (record[j] == '"')
                    {
                        if (j + 1 < record.Length && record[j + 1] == '"')
                        {
                            escaped = true;
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                fields.Add((contentStart, j - contentStart, escaped));
                var next = record.IndexOf(separator, Math.Min(j, record.Length));
                if (next < 0)
                {
                    return;
                }
                i = next + 1;
            }
            else
            {
                var next = record.IndexOf(separator, i);
                var end = next < 0 ? record.Length : next;
                fields.Add((i, end - i, false));
                if (next < 0)
                {
                    return;
                }
                i = next + 1;
            }
        }
    }

    private ReadOnlySpan<char> Field(string record, int index)
    {
        var (start, length, escaped) = _fields[index];
        var text = record.AsSpan(start, length);
        return escaped ? text.ToString().Replace("\"\"", "\"", StringComparison.Ordinal) : text;
    }

    private static char? DetectSeparator(string header)
    {
        int commas = 0, semicolons = 0, tabs = 0;
        var quoted = false;
        foreach (var c in header)
        {
            switch (c)
            {
                case '"': quoted = !quoted; break;
                case ',' when !quoted: commas++; break;
                case ';' when !quoted: semicolons++; break;
                case '\t' when !quoted: tabs++; break;
            }
        }
        if (commas == 0 && semicolons == 0 && tabs == 0)
        {
            return null;
        }
        return semicolons >= commas && semicolons >= tabs ? ';' : tabs > commas ? '\t' : ',';
    }

    private static string[] SplitHeader(string line, char separator)
    {
        var fields = new List<(int Start, int Length, bool Escaped)>();
        SplitInto(line, separator, fields);
        return [.. fields.Select(f =>
        {
            var name = line.Substring(f.Start, f.Length).Trim();
            return f.Escaped ? name.Replace("\"\"", "\"", StringComparison.Ordinal) : name;
        })];
    }
}
