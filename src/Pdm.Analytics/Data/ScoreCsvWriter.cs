using System.Globalization;

namespace Pdm.Analytics.Data;

/// <summary>
/// Writes the scores CSV: <c>time,score,anomaly,top_sensor</c>, one line per scored row. The time is written as the
/// input had it (quoted when it holds a comma or quote), the score with up to 6 decimals, anomaly as 1 or 0.
/// </summary>
public sealed class ScoreCsvWriter
{
    public const string Header = "time,score,anomaly,top_sensor";

    private readonly TextWriter _writer;

    public ScoreCsvWriter(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
    }

    public void WriteHeader() => _writer.WriteLine(Header);

    public void WriteRow(string time, double score, bool anomaly, string topSensor)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(topSensor);
        WriteField(time);
        _writer.Write(',');
        _writer.Write(score.ToString("0.######", CultureInfo.InvariantCulture));
        _writer.Write(anomaly ? ",1," : ",0,");
        WriteField(topSensor);
        _writer.WriteLine();
    }

    private void WriteField(string text)
    {
        if (text.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            _writer.Write(text);
            return;
        }
        _writer.Write('"');
        _writer.Write(text.Replace("\"", "\"\"", StringComparison.Ordinal));
        _writer.Write('"');
    }
}
