using Pdm.Analytics.Datasets;
using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Tests.Datasets;

public sealed class CmapssDatasetTests
{
    /// <summary>The shared copy of NASA's data; not in the repository.</summary>
    internal const string Directory = "/work/shared/datasets/cmapss";

    private static readonly string Row = string.Join(' ', Enumerable.Repeat("1.5", 24));

    [Fact]
    public void Rows_with_trailing_spaces_are_grouped_into_units()
    {
        var train = $"1 1 {Row}  \n1 2 {Row} \n2 1 {Row}\n";
        var test = $"1 1 {Row} \n";

        var result = CmapssDataset.Parse(new StringReader(train), new StringReader(test), new StringReader("17 \n"));

        Assert.Empty(result.Errors);
        var data = result.Dataset!;
        Assert.Equal(["1", "2"], data.Train.Select(u => u.Unit));
        Assert.Equal([1.0, 2.0], data.Train[0].Time.ToArray());
        Assert.Equal(24, data.Train[0].Values.Columns);
        Assert.Equal([17.0], data.TestRul);
    }

    [Fact]
    public void Bad_rows_are_reported_with_file_line_and_reason()
    {
        var shortRow = CmapssDataset.Parse(new StringReader($"1 1 {Row}\n1 2 1.0\n"), new StringReader($"1 1 {Row}"), new StringReader("5"));
        var badValue = CmapssDataset.Parse(new StringReader($"1 1 {Row}"), new StringReader($"1 1 x {Row[4..]}"), new StringReader("5"));
        var backwards = CmapssDataset.Parse(new StringReader($"1 2 {Row}\n1 1 {Row}"), new StringReader($"1 1 {Row}"), new StringReader("5"));
        var rulCount = CmapssDataset.Parse(new StringReader($"1 1 {Row}"), new StringReader($"1 1 {Row}"), new StringReader("5\n6"));

        Assert.Equal("train line 2: expected 26 fields, found 3.", Assert.Single(shortRow.Errors));
        Assert.Equal("test line 1: op1 'x' is not a number.", Assert.Single(badValue.Errors));
        Assert.Equal("train line 2: cycle 1 of unit 1 does not follow cycle 2.", Assert.Single(backwards.Errors));
        Assert.Equal("RUL: 2 values for 1 test units.", Assert.Single(rulCount.Errors));
        Assert.Null(shortRow.Dataset);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public void Fd001_has_the_published_row_counts_and_capped_targets()
    {
        var data = CmapssDataset.Load(Directory).Dataset!;

        Assert.Equal(100, data.Train.Count);
        Assert.Equal(20631, data.Train.Sum(u => u.Length));
        Assert.Equal(100, data.Test.Count);
        Assert.Equal(13096, data.Test.Sum(u => u.Length));
        Assert.Equal(100, data.TestRul.Count);
        var targets = data.Train.Select(u => RulTargets.RemainingTime(u, 125)).ToList();
        Assert.All(targets, t => Assert.Equal(0, t[^1]));
        Assert.Equal(125, targets.Max(t => t.Max()));
        Assert.Equal(Math.Min(125, data.Train[0].Length - 1), targets[0][0]);
        Assert.Equal(data.Train[0].Length - 1, RulTargets.RemainingTime(data.Train[0])[0]);
    }

    [Fact]
    public void A_missing_folder_is_reported_per_file()
    {
        var result = CmapssDataset.Load("/nonexistent/cmapss");

        Assert.Equal(3, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.EndsWith("file not found", e, StringComparison.Ordinal));
    }
}
