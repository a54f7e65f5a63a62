using Pdm.Analytics.Data;

namespace Pdm.Analytics.Tests.Data;

public sealed class SensorTableTests
{
    [Fact]
    public void Rows_copies_the_chosen_rows_in_order_with_their_times_and_time_texts()
    {
        var table = new SensorTable(["a", "b"], [1, 2, 3, 4], [10, 11, 20, 21, 30, 31, 40, 41], ["t1", "t2", "t3", "t4"], "when");

        var picked = table.Rows([3, 0, 2]);

        Assert.Equal(["a", "b"], picked.FeatureNames);
        Assert.Equal("when", picked.TimeColumn);
        Assert.Equal([4.0, 1, 3], picked.Times.ToArray());
        Assert.Equal([40.0, 41, 10, 11, 30, 31], picked.Values.ToArray());
        Assert.Equal("t4", picked.TimeText(0));
    }
}
