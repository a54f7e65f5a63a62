namespace Pdm.Analytics.Anomaly;

/// <summary>Reading helpers for the model file; a bad field throws <see cref="InvalidDataException"/>, which
/// <see cref="AnomalyModel.Read(ReadOnlySpan{byte})"/> turns into an error result.</summary>
internal static class ModelFormat
{
    public static int ReadCount(BinaryReader reader, int min, int max, string what)
    {
        var count = reader.ReadInt32();
        if (count < min || count > max)
        {
            throw new InvalidDataException($"{what}: {count} is outside {min}..{max}");
        }
        return count;
    }

    public static double[] ReadDoubles(BinaryReader reader, int count)
    {
        var values = new double[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = reader.ReadDouble();
        }
        return values;
    }

    public static void WriteDoubles(BinaryWriter writer, ReadOnlySpan<double> values)
    {
        foreach (var v in values)
        {
            writer.Write(v);
        }
    }
}
