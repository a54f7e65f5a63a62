using Pdm.Analytics.Data;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>A CSV of several units read into per-unit series, with the optional target or label of every row.</summary>
public sealed record UnitCsvData(
    IReadOnlyList<string> FeatureNames,
    IReadOnlyList<UnitSeries> Units,
    IReadOnlyList<string[]> TimeTexts,
    IReadOnlyList<double[]>? Targets,
    IReadOnlyList<string[]>? Labels);

/// <summary>The data, or the problems (row, column, reason) that kept the file from being read.</summary>
public sealed record UnitCsvResult(UnitCsvData? Data, IReadOnlyList<CsvError> Errors)
{
    public bool IsSuccess => Data is not null;
}

/// <summary>
/// Reads <c>unit,time,&lt;features…&gt;</c> files (any order of columns; ',' or ';'; see <see cref="SensorCsvReader"/>)
/// for the remaining-useful-life and state models. Rows of one unit need not be adjacent, but within a unit time must
/// increase: models read each unit causally, in time order.
/// </summary>
public static class UnitCsv
{
    /// <param name="targetColumn">A numeric column taken out of the features (for example <c>rul</c>); null: none.</param>
    /// <param name="labelColumn">A text column of class labels (for example <c>state</c>); null: none.</param>
    /// <param name="ignoreColumns">Columns that are neither features nor targets (ground truth, notes), skipped unread.</param>
    public static UnitCsvResult Read(TextReader reader, string unitColumn, string? timeColumn, string? targetColumn = null,
        string? labelColumn = null, IReadOnlyCollection<string>? ignoreColumns = null, int maxErrors = 20)
    {
        var csv = SensorCsvReader.Open(reader, new CsvReadOptions
        {
            KeyColumn = unitColumn, TimeColumn = timeColumn, LabelColumn = labelColumn, IgnoreColumns = ignoreColumns ?? [],
        }, out var headerError);
        if (csv is null)
        {
            return new UnitCsvResult(null, [headerError!]);
        }
        var targetIndex = targetColumn is null ? -1 : IndexOf(csv.FeatureNames, targetColumn);
        if (targetColumn is not null && targetIndex < 0)
        {
            return new UnitCsvResult(null, [new CsvError(1, targetColumn, $"row 1: no column '{targetColumn}'")]);
        }
        var featureNames = csv.FeatureNames.Where((_, i) => i != targetIndex).ToList();
        if (featureNames.Count == 0)
        {
            return new UnitCsvResult(null, [new CsvError(1, null, "row 1: no feature columns besides unit, time and target")]);
        }

        var units = new Dictionary<string, UnitRows>(StringComparer.Ordinal);
        var errors = new List<CsvError>();
        var row = new double[csv.FeatureNames.Count];
        while (errors.Count < maxErrors)
        {
            var status = csv.ReadRow(row, out var time, out var timeText);
            if (status == CsvRowStatus.End)
            {
                break;
            }
            if (status == CsvRowStatus.Error)
            {
                errors.Add(csv.LastError!);
                continue;
            }
            if (!units.TryGetValue(csv.KeyText, out var unit))
            {
                units[csv.KeyText] = unit = new UnitRows();
            }
            if (unit.Times.Count > 0 && !(time > unit.Times[^1]))
            {
                errors.Add(new CsvError(csv.Row, csv.TimeColumn,
                    $"row {csv.Row}, column '{csv.TimeColumn}': time {timeText} of unit '{csv.KeyText}' does not come after the unit's previous row"));
                continue;
            }
            if (targetIndex >= 0 && double.IsNaN(row[targetIndex]))
            {
                errors.Add(new CsvError(csv.Row, targetColumn, $"row {csv.Row}, column '{targetColumn}': the target is missing"));
                continue;
            }
            unit.Times.Add(time);
            unit.TimeTexts.Add(timeText);
            unit.Labels.Add(csv.LabelText);
            for (var i = 0; i < row.Length; i++)
            {
                if (i == targetIndex)
                {
                    unit.Targets.Add(row[i]);
                }
                else
                {
                    unit.Values.Add(row[i]);
                }
            }
        }
        if (errors.Count > 0)
        {
            return new UnitCsvResult(null, errors);
        }
        if (units.Count == 0)
        {
            return new UnitCsvResult(null, [new CsvError(2, null, "the file has a header but no data rows")]);
        }
        var series = units.Select(u => new UnitSeries(u.Key, [.. u.Value.Times], new FeatureMatrix([.. u.Value.Values], featureNames.Count))).ToList();
        return new UnitCsvResult(new UnitCsvData(
            featureNames,
            series,
            [.. units.Values.Select(u => u.TimeTexts.ToArray())],
            targetIndex >= 0 ? [.. units.Values.Select(u => u.Targets.ToArray())] : null,
            labelColumn is not null ? [.. units.Values.Select(u => u.Labels.ToArray())] : null), []);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }
        return -1;
    }

    private sealed class UnitRows
    {
        public List<double> Times { get; } = [];
        public List<string> TimeTexts { get; } = [];
        public List<double> Values { get; } = [];
        public List<double> Targets { get; } = [];
        public List<string> Labels { get; } = [];
    }
}
