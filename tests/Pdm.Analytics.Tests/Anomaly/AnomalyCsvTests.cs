using System.Globalization;
using System.Text;
using Pdm.Analytics.Anomaly;
using Pdm.Analytics.Data;

namespace Pdm.Analytics.Tests.Anomaly;

public class AnomalyCsvTests
{
    private static readonly Lazy<AnomalyModel> Model = new(() =>
    {
        var table = SensorTable.Read(new StringReader(Csv(SensorData.Normal(1500, 41), ';'))).Table!;
        return AnomalyModel.Fit(table, seed: 1).Model!;
    });

    private static string Csv(double[] values, char separator)
    {
        var text = new StringBuilder("time" + separator + string.Join(separator, SensorData.Names) + "\n");
        for (var r = 0; r < values.Length / SensorData.Sensors; r++)
        {
            text.Append(CultureInfo.InvariantCulture, $"2024-05-01T00:{r / 60 % 60:00}:{r % 60:00}Z");
            for (var i = 0; i < SensorData.Sensors; i++)
            {
                text.Append(separator).Append(values[(r * SensorData.Sensors) + i].ToString("R", CultureInfo.InvariantCulture));
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    [Fact]
    public void Every_input_row_gets_a_score_row_with_the_top_sensor_named()
    {
        var values = SensorData.Normal(300, 42);
        SensorData.Step(values, 1, 200, 300, 30);
        var output = new StringWriter { NewLine = "\n" };

        var result = AnomalyCsv.Score(new StringReader(Csv(values, ',')), output, Model.Value);

        Assert.True(result.IsSuccess);
        Assert.Equal(300, result.Rows);
        var lines = output.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal("time,score,anomaly,top_sensor", lines[0]);
        Assert.Equal(301, lines.Length);
        Assert.StartsWith("2024-05-01T00:03:20Z,", lines[201], StringComparison.Ordinal);
        Assert.EndsWith(",1,pressure", lines[201], StringComparison.Ordinal);
        Assert.True(result.Anomalies >= 100);
    }

    [Fact]
    public void Non_numeric_feature_stops_scoring_naming_row_and_column()
    {
        var csv = Csv(SensorData.Normal(10, 43), ',').Split('\n');
        var fields = csv[5].Split(',');
        fields[3] = "broken";
        csv[5] = string.Join(',', fields);

        var result = AnomalyCsv.Score(new StringReader(string.Join('\n', csv)), TextWriter.Null, Model.Value);

        Assert.Equal("row 6, column 'vibration': 'broken' is not a number", result.Error!.Message);
        Assert.Equal(4, result.Rows);
    }

    [Fact]
    public void Missing_model_column_is_reported_before_any_row()
    {
        var result = AnomalyCsv.Score(new StringReader("time,temperature\n1,2\n"), TextWriter.Null, Model.Value);

        Assert.Equal("row 1: the model needs column 'pressure', which the file does not have", result.Error!.Message);
    }
}
