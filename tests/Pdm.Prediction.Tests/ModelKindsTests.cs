namespace Pdm.Prediction.Tests;

public sealed class ModelKindsTests
{
    private static readonly byte[] NotAModel = "PDMXXXX not a model"u8.ToArray();

    [Fact]
    public void Bytes_that_are_not_a_model_of_the_kind_are_null_with_the_reason()
    {
        Assert.Null(ModelKinds.ReadAnomaly(NotAModel, out var anomaly));
        Assert.Null(ModelKinds.ReadRul(NotAModel, out var rul));
        Assert.Null(ModelKinds.ReadState(NotAModel, out var state));

        Assert.Contains("not an anomaly model", anomaly, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(rul));
        Assert.False(string.IsNullOrEmpty(state));
    }
}
