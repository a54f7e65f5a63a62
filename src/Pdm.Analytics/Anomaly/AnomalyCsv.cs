using Pdm.Analytics.Data;

namespace Pdm.Analytics.Anomaly;

/// <summary>How scoring a CSV went: rows written, how many were anomalous, or the error that stopped it.</summary>
public sealed record AnomalyCsvResult(int Rows, int Anomalies, CsvError? Error)
{
    public bool IsSuccess => Error is null;
}

/// <summary>The <c>pdm model score</c> path: a sensor CSV in, the scores CSV out, one row at a time.</summary>
public static class AnomalyCsv
{
    /// <summary>
    /// Scores every row of <paramref name="input"/> in file order (causally, one machine) and writes
    /// <c>time,score,anomaly,top_sensor</c> to <paramref name="output"/>. Columns are matched to the model's features
    /// by name; extra numeric columns are ignored. On an error (a missing model column, a non-numeric value, a ragged
    /// row) scoring stops and the output holds the rows before it: write to a temporary file and keep it only on
    /// success.
    /// </summary>
    public static AnomalyCsvResult Score(TextReader input, TextWriter output, AnomalyModel model,
        CsvReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var csv = SensorCsvReader.Open(input, options ?? new CsvReadOptions(), out var headerError);
        if (csv is null)
        {
            return new AnomalyCsvResult(0, 0, headerError);
        }
        var map = new int[model.FeatureNames.Count];
        for (var i = 0; i < map.Length; i++)
        {
            map[i] = IndexOf(csv.FeatureNames, model.FeatureNames[i]);
            if (map[i] < 0)
            {
                return new AnomalyCsvResult(0, 0, new CsvError(1, model.FeatureNames[i],
                    $"row 1: the model needs column '{model.FeatureNames[i]}', which the file does not have"));
            }
        }

        var writer = new ScoreCsvWriter(output);
        writer.WriteHeader();
        var scorer = model.CreateScorer();
        var row = new double[csv.FeatureNames.Count];
        var values = new double[map.Length];
        int rows = 0, anomalies = 0;
        while (true)
        {
            var status = csv.ReadRow(row, out var time, out var timeText);
            if (status == CsvRowStatus.End)
            {
                return new AnomalyCsvResult(rows, anomalies, null);
            }
            if (status == CsvRowStatus.Error)
            {
                return new AnomalyCsvResult(rows, anomalies, csv.LastError);
            }
            for (var i = 0; i < map.Length; i++)
            {
                values[i] = row[map[i]];
            }
            var score = scorer.Score(values, time);
            writer.WriteRow(timeText, score.Score, score.IsAnomaly, model.FeatureNames[score.TopSensor]);
            rows++;
            anomalies += score.IsAnomaly ? 1 : 0;
        }
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}
