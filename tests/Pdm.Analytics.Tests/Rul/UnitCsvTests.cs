using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Tests.Rul;

public sealed class UnitCsvTests
{
    [Fact]
    public void Units_are_split_with_their_target_and_rows_in_time_order()
    {
        var result = UnitCsv.Read(new StringReader("""
            unit;time;speed;rul;temp
            a;1;10;5;60
            b;1;11;3;61
            a;2;12;4;62
            """), "unit", "time", targetColumn: "rul");

        var data = Assert.IsType<UnitCsvData>(result.Data);
        Assert.Equal(["speed", "temp"], data.FeatureNames);
        Assert.Equal(["a", "b"], data.Units.Select(u => u.Unit));
        Assert.Equal([1.0, 2.0], data.Units[0].Time.ToArray());
        Assert.Equal(62, data.Units[0].Values[1, 1]);
        Assert.Equal([5.0, 4.0], data.Targets![0]);
        Assert.Equal(["1", "2"], data.TimeTexts[0]);
    }

    [Theory]
    [InlineData("unit,time,speed\nm1,1,10\nm1,2,fast\n", "row 3, column 'speed': 'fast' is not a number")]
    [InlineData("unit,time,speed\nm1,1,10\nm1,2\n", "row 3 has 2 fields, the header has 3")]
    [InlineData("unit,time,speed\nm1,2,10\nm1,1,11\n", "row 3, column 'time': time 1 of unit 'm1' does not come after the unit's previous row")]
    [InlineData("unit,time,speed\n,1,10\n", "row 2, column 'unit': the unit is missing")]
    [InlineData("machine,time,speed\nm1,1,10\n", "row 1: no unit column 'unit' besides the time column (columns: machine, time, speed)")]
    public void Bad_rows_are_reported_with_row_and_column(string csv, string message)
    {
        var result = UnitCsv.Read(new StringReader(csv), "unit", "time");

        Assert.Null(result.Data);
        Assert.Equal(message, result.Errors[0].Message);
    }

    [Fact]
    public void Labels_are_read_as_text_and_are_not_features()
    {
        var result = UnitCsv.Read(new StringReader("unit,time,v,state\nm,1,0.5,HEALTHY\nm,2,0.7,WARNING\n"), "unit", "time", labelColumn: "state");

        Assert.Equal(["v"], result.Data!.FeatureNames);
        Assert.Equal(["HEALTHY", "WARNING"], result.Data.Labels![0]);
    }
}
