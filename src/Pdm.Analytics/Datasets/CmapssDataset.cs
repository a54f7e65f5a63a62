using System.Globalization;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Datasets;

/// <summary>
/// One subset of NASA's C-MAPSS turbofan data (Saxena and Goebel, 2008): training engines run
/// to failure, test engines cut off earlier, and the true remaining cycles of each test engine.
/// Rows are space separated <c>unit cycle op1 op2 op3 s1 .. s21</c>; the cycle is the time
/// stamp and the 24 settings and sensors are the values.
/// </summary>
public sealed class CmapssDataset
{
    private const int Fields = 26;

    public static IReadOnlyList<string> ColumnNames { get; } =
        [.. new[] { "op1", "op2", "op3" }.Concat(Enumerable.Range(1, 21).Select(i => "s" + i.ToString(CultureInfo.InvariantCulture)))];

    public required IReadOnlyList<UnitSeries> Train { get; init; }

    public required IReadOnlyList<UnitSeries> Test { get; init; }

    /// <summary>True remaining cycles after each test unit's last row, in test unit order.</summary>
    public required IReadOnlyList<double> TestRul { get; init; }

    /// <summary>Reads <c>train_X.txt</c>, <c>test_X.txt</c> and <c>RUL_X.txt</c> for subset X (e.g. FD001) from a folder.</summary>
    public static CmapssLoadResult Load(string directory, string subset = "FD001")
    {
        ArgumentNullException.ThrowIfNull(directory);
        string[] paths = [Path.Combine(directory, $"train_{subset}.txt"), Path.Combine(directory, $"test_{subset}.txt"), Path.Combine(directory, $"RUL_{subset}.txt")];
        var missing = paths.Where(p => !File.Exists(p)).Select(p => $"{p}: file not found").ToArray();
        if (missing.Length > 0)
        {
            return new CmapssLoadResult { Errors = missing };
        }

        using var train = File.OpenText(paths[0]);
        using var test = File.OpenText(paths[1]);
        using var rul = File.OpenText(paths[2]);
        return Parse(train, test, rul, Path.GetFileName(paths[0]), Path.GetFileName(paths[1]), Path.GetFileName(paths[2]));
    }

    public static CmapssLoadResult Parse(TextReader train, TextReader test, TextReader rul,
        string trainName = "train", string testName = "test", string rulName = "RUL")
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(rul);
        var errors = new List<string>();
        var trainUnits = ParseUnits(train, trainName, errors);
        var testUnits = ParseUnits(test, testName, errors);
        var testRul = ParseRul(rul, rulName, errors);
        if (errors.Count == 0 && testRul.Count != testUnits.Count)
        {
            errors.Add($"{rulName}: {testRul.Count} values for {testUnits.Count} test units.");
        }

        return errors.Count > 0
            ? new CmapssLoadResult { Errors = errors }
            : new CmapssLoadResult { Dataset = new CmapssDataset { Train = trainUnits, Test = testUnits, TestRul = testRul }, Errors = [] };
    }

    private static List<UnitSeries> ParseUnits(TextReader reader, string name, List<string> errors)
    {
        var units = new List<UnitSeries>();
        var currentUnit = -1;
        var time = new List<double>();
        var values = new List<double>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length == 0)
            {
                continue;
            }

            if (fields.Length != Fields)
            {
                errors.Add($"{name} line {lineNumber}: expected {Fields} fields, found {fields.Length}.");
                return [];
            }

            if (!int.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var unit)
                || !double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var cycle))
            {
                errors.Add($"{name} line {lineNumber}: unit '{fields[0]}' or cycle '{fields[1]}' is not a number.");
                return [];
            }

            if (unit != currentUnit)
            {
                if (currentUnit >= 0)
                {
                    units.Add(Build(currentUnit, time, values));
                }

                if (unit <= currentUnit)
                {
                    errors.Add($"{name} line {lineNumber}: unit {unit} follows unit {currentUnit}; rows must be grouped by ascending unit.");
                    return [];
                }

                currentUnit = unit;
                time.Clear();
                values.Clear();
            }
            else if (cycle <= time[^1])
            {
                errors.Add($"{name} line {lineNumber}: cycle {cycle} of unit {unit} does not follow cycle {time[^1]}.");
                return [];
            }

            time.Add(cycle);
            for (var i = 2; i < Fields; i++)
            {
                if (!double.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    errors.Add($"{name} line {lineNumber}: {ColumnNames[i - 2]} '{fields[i]}' is not a number.");
                    return [];
                }

                values.Add(v);
            }
        }

        if (currentUnit >= 0)
        {
            units.Add(Build(currentUnit, time, values));
        }
        else
        {
            errors.Add($"{name}: no rows.");
        }

        return units;
    }

    private static UnitSeries Build(int unit, List<double> time, List<double> values) =>
        new(unit.ToString(CultureInfo.InvariantCulture), [.. time], new FeatureMatrix([.. values], Fields - 2));

    private static List<double> ParseRul(TextReader reader, string name, List<string> errors)
    {
        var result = new List<double>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
            {
                errors.Add($"{name} line {lineNumber}: '{text}' is not a non-negative number of cycles.");
                return [];
            }

            result.Add(v);
        }

        return result;
    }
}

/// <summary>A loaded data set, or why it could not be loaded (file, line, reason).</summary>
public sealed record CmapssLoadResult
{
    public CmapssDataset? Dataset { get; init; }

    public required IReadOnlyList<string> Errors { get; init; }
}
