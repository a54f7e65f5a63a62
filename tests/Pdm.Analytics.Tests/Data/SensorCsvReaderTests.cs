using Pdm.Analytics.Data;

namespace Pdm.Analytics.Tests.Data;

public class SensorCsvReaderTests
{
    private static SensorTableResult Read(string csv, CsvReadOptions? options = null) =>
        SensorTable.Read(new StringReader(csv), options);

    [Fact]
    public void Comma_separated_file_is_read_with_numeric_times_and_values()
    {
        var result = Read("time,temperature,pressure\n1,20.5,3\n2,21,3.5e0\n");

        Assert.True(result.IsSuccess);
        var table = result.Table!;
        Assert.Equal(["temperature", "pressure"], table.FeatureNames);
        Assert.Equal("time", table.TimeColumn);
        Assert.Equal([1.0, 2.0], table.Times.ToArray());
        Assert.Equal([20.5, 3, 21, 3.5], table.Values.ToArray());
        Assert.Equal("2", table.TimeText(1));
    }

    [Fact]
    public void Semicolon_separator_is_detected_and_decimal_comma_accepted()
    {
        var result = Read("datetime;Accelerometer1RMS;Current\n2020-03-09 10:14:33;0,0273;1.1\n2020-03-09 10:14:34;0,0275;1.2\n");

        Assert.True(result.IsSuccess);
        Assert.Equal(0.0273, result.Table!.Row(0)[0]);
        Assert.Equal(1.2, result.Table.Row(1)[1]);
        Assert.Equal(1.0, result.Table.Times[1] - result.Table.Times[0]);
    }

    [Fact]
    public void Iso_times_become_unix_seconds_in_utc()
    {
        var result = Read("ts,a\n1970-01-01T00:01:00Z,1\n1970-01-01T01:00:00+01:00,2\n1970-01-01 00:00:30,3\n");

        Assert.Equal([60.0, 0.0, 30.0], result.Table!.Times.ToArray());
    }

    [Fact]
    public void Quoted_fields_with_separators_quotes_and_line_breaks_are_read()
    {
        var result = Read("\"time\",\"a,b\",\"say \"\"hi\"\"\"\n\"2024-01-01T00:00:00Z\",\"1.5\",2\n3,4,5\n".Replace(
            "3,4,5", "\"2024-01-01T00:00:01Z\",\"7\",\"8\""));

        Assert.True(result.IsSuccess, string.Join("; ", result.Errors));
        Assert.Equal(["a,b", "say \"hi\""], result.Table!.FeatureNames);
        Assert.Equal([1.5, 2, 7, 8], result.Table.Values.ToArray());
    }

    [Fact]
    public void Record_spanning_lines_inside_quotes_counts_as_one_row()
    {
        var result = Read("time,a\n\"1\n\",x\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal(2, error.Row);
    }

    [Fact]
    public void Non_numeric_value_is_rejected_naming_row_and_column()
    {
        var result = Read("time,temperature,pressure\n1,20,3\n2,21,abc\n");

        Assert.False(result.IsSuccess);
        var error = Assert.Single(result.Errors);
        Assert.Equal("row 3, column 'pressure': 'abc' is not a number", error.Message);
        Assert.Equal(3, error.Row);
        Assert.Equal("pressure", error.Column);
    }

    [Fact]
    public void Ragged_row_is_rejected_with_both_field_counts()
    {
        var result = Read("time,a,b,c\n1,1,2,3\n2,1,2\n3,1,2,3,4\n");

        Assert.Equal(["row 3 has 3 fields, the header has 4", "row 4 has 5 fields, the header has 4"],
            result.Errors.Select(e => e.Message));
    }

    [Fact]
    public void Errors_are_capped_at_the_maximum()
    {
        var csv = "time,a\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},x\n"));

        Assert.Equal(5, Read(csv, new CsvReadOptions { MaxErrors = 5 }).Errors.Count);
    }

    [Fact]
    public void Empty_cells_and_missing_markers_are_NaN_and_infinities_too()
    {
        var result = Read("time,a,b,c,d,e\n1,,NA,nan,null,Infinity\n2,1,2,3,4,5\n");

        Assert.True(result.IsSuccess);
        Assert.All(result.Table!.Row(0).ToArray(), v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void Time_column_can_be_named_and_need_not_be_first()
    {
        var result = Read("a,stamp,b\n1,10,2\n3,11,4\n", new CsvReadOptions { TimeColumn = "stamp" });

        Assert.Equal(["a", "b"], result.Table!.FeatureNames);
        Assert.Equal([10.0, 11.0], result.Table.Times.ToArray());
    }

    [Fact]
    public void Unknown_time_column_is_reported_with_the_header()
    {
        var result = Read("a,b\n1,2\n", new CsvReadOptions { TimeColumn = "ts" });

        Assert.Equal("row 1: no time column 'ts' (columns: a, b)", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Ignored_columns_are_skipped_unparsed()
    {
        var result = Read("time,a,label\n1,2,normal\n", new CsvReadOptions { IgnoreColumns = ["label"] });

        Assert.Equal(["a"], result.Table!.FeatureNames);
    }

    [Theory]
    [InlineData("time,a\n1,2\nnoon,3\n", "row 3, column 'time': 'noon' is not a number (times in this file are numbers, as in row 2)")]
    [InlineData("time,a\n2024-01-01T00:00:00Z,2\n5,3\n", "row 3, column 'time': '5' is not an ISO-8601 time (times in this file are date-times, as in row 2)")]
    [InlineData("time,a\n,2\n", "row 2, column 'time': the time is missing")]
    [InlineData("time,a,a\n1,2,3\n", "row 1: column 'a' appears twice")]
    [InlineData("time\n1\n", "the header has a single column: expected a time column and features separated by ',' or ';'")]
    [InlineData("", "the file is empty: expected a header row")]
    [InlineData("time,a\n", "the file has a header but no data rows")]
    public void Malformed_files_are_rejected_with_a_precise_message(string csv, string message)
    {
        Assert.Equal(message, Assert.Single(Read(csv).Errors).Message);
    }

    [Fact]
    public void Blank_lines_are_skipped()
    {
        Assert.Equal(2, Read("time,a\n1,2\n\n2,3\n\n").Table!.RowCount);
    }

    [Fact]
    public void Score_writer_writes_header_and_quotes_times_that_need_it()
    {
        var text = new StringWriter { NewLine = "\n" };
        var writer = new ScoreCsvWriter(text);

        writer.WriteHeader();
        writer.WriteRow("2024-01-01T00:00:00Z", 1.23456789, true, "pressure");
        writer.WriteRow("1,5", 0, false, "a");

        Assert.Equal("time,score,anomaly,top_sensor\n2024-01-01T00:00:00Z,1.234568,1,pressure\n\"1,5\",0,0,a\n",
            text.ToString());
    }
}
