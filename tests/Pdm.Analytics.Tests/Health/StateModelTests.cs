using Pdm.Analytics.Health;
using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Health;

public sealed class StateModelTests
{
    // Units that wear out: vibration grows with age; the state follows the vibration level, with noise.
    private static (List<UnitSeries> Units, List<string[]> Labels) Wearing(int units, int seed)
    {
        var random = new Random(seed);
        var series = new List<UnitSeries>();
        var labels = new List<string[]>();
        for (var u = 0; u < units; u++)
        {
            var length = 80 + random.Next(40);
            var values = new FeatureMatrix(length, 2);
            var states = new string[length];
            for (var r = 0; r < length; r++)
            {
                var wear = (double)r / length;
                var vibration = 1 + (6 * wear * wear) + (random.NextDouble() * 0.3);
                values[r, 0] = vibration;
                values[r, 1] = 50 + (10 * wear) + random.NextDouble();
                states[r] = vibration < 2.8 ? "HEALTHY" : vibration < 4.5 ? "WARNING" : "FAULTY";
            }
            series.Add(new UnitSeries($"u{u}", [.. Enumerable.Range(1, length).Select(t => (double)t)], values));
            labels.Add(states);
        }
        return (series, labels);
    }

    [Fact]
    public void Learns_states_of_unseen_units()
    {
        var (train, trainLabels) = Wearing(30, seed: 1);
        var (test, testLabels) = Wearing(10, seed: 2);
        var model = StateModel.Fit(train, trainLabels, seed: 7, columnNames: ["vibration", "temperature"]);

        var correct = 0;
        var total = 0;
        for (var u = 0; u < test.Count; u++)
        {
            var (states, probabilities) = model.Predict(test[u]);
            correct += states.Where((s, r) => s == testLabels[u][r]).Count();
            total += states.Length;
            Assert.All(probabilities, p => Assert.InRange(p, 0, 1));
        }
        Assert.True(correct > 0.9 * total, $"{correct} of {total} states right");
        Assert.Equal(["FAULTY", "HEALTHY", "WARNING"], model.Classes);
    }

    [Fact]
    public void Training_is_deterministic_and_the_model_round_trips()
    {
        var (units, labels) = Wearing(12, seed: 3);
        var first = Bytes(StateModel.Fit(units, labels, seed: 5));
        var second = Bytes(StateModel.Fit(units, labels, seed: 5));
        Assert.Equal(first, second);

        var read = StateModel.Read(new MemoryStream(first));
        Assert.Equal(first, Bytes(read));
        Assert.True(StateModel.IsStateModel(first));
        Assert.Throws<InvalidDataException>(() => StateModel.Read(new MemoryStream(first[..(first.Length / 2)])));
    }

    [Fact]
    public void A_single_label_is_refused_with_the_reason()
    {
        var (units, labels) = Wearing(6, seed: 4);
        var same = labels.Select(l => l.Select(_ => "HEALTHY").ToArray()).ToList();

        var error = Assert.Throws<ArgumentException>(() => StateModel.Fit(units, same, seed: 1));
        Assert.Contains("only 'HEALTHY'", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(StateModel model)
    {
        using var stream = new MemoryStream();
        model.Write(stream);
        return stream.ToArray();
    }
}
