using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Trees;

public sealed class GbtModelSerializationTests
{
    [Theory]
    [InlineData(GbtObjective.SquaredError)]
    [InlineData(GbtObjective.Logistic)]
    [InlineData(GbtObjective.Softmax)]
    public void Round_trip_keeps_every_prediction_and_every_byte(GbtObjective objective)
    {
        var x = SyntheticData.Uniform(1000, 5, seed: 1);
        var y = Enumerable.Range(0, x.Rows).Select(r => objective == GbtObjective.SquaredError ? x[r, 0] * x[r, 1] : x[r, 0] > 0 ? 1.0 : 0.0).ToArray();
        var model = GbtTrainer.Fit(x, y, new GbtOptions { Objective = objective, ClassCount = 2, MaxIterations = 30 }, 3);

        var bytes = GbtTrainerTests.Bytes(model);
        var copy = GbtModel.Read(new MemoryStream(bytes));

        Assert.Equal(bytes, GbtTrainerTests.Bytes(copy));
        Assert.Equal(model.Objective, copy.Objective);
        Assert.Equal(model.IterationCount, copy.IterationCount);
        Span<double> a = stackalloc double[model.OutputCount];
        Span<double> b = stackalloc double[model.OutputCount];
        for (var r = 0; r < x.Rows; r++)
        {
            model.PredictRaw(x.Row(r), a);
            copy.PredictRaw(x.Row(r), b);
            Assert.True(a.SequenceEqual(b));
        }
    }

    [Fact]
    public void A_foreign_newer_or_truncated_stream_is_rejected_with_the_reason()
    {
        var x = SyntheticData.Uniform(200, 2, seed: 1);
        var model = GbtTrainer.Fit(x, Enumerable.Range(0, 200).Select(r => x[r, 0]).ToArray(), new GbtOptions { MaxIterations = 3 }, 1);
        var bytes = GbtTrainerTests.Bytes(model);
        var foreign = (byte[])bytes.Clone();
        foreign[0] = (byte)'X';
        var newer = (byte[])bytes.Clone();
        BitConverter.GetBytes(GbtModel.FormatVersion + 1).CopyTo(newer, 6);

        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => GbtModel.Read(new MemoryStream(foreign))).Message, StringComparison.Ordinal);
        Assert.Contains("version 2", Assert.Throws<InvalidDataException>(() => GbtModel.Read(new MemoryStream(newer))).Message, StringComparison.Ordinal);
        Assert.Contains("ends early", Assert.Throws<InvalidDataException>(() => GbtModel.Read(new MemoryStream(bytes[..^5]))).Message, StringComparison.Ordinal);
    }
}
