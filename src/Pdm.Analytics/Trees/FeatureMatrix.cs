namespace Pdm.Analytics.Trees;

/// <summary>
/// A dense row-major matrix of doubles: one row per sample, one column per feature. Row-major
/// because prediction and feature engineering both work one row at a time.
/// NaN and infinities mean "missing" to the trees.
/// </summary>
public sealed class FeatureMatrix
{
    private readonly double[] _data;

    public FeatureMatrix(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        Rows = rows;
        Columns = columns;
        _data = new double[checked(rows * columns)];
    }

    /// <summary>Wraps <paramref name="data"/> (row-major, length rows * columns) without copying.</summary>
    public FeatureMatrix(double[] data, int columns)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (data.Length % columns != 0)
        {
            throw new ArgumentException($"Data length {data.Length} is not a multiple of {columns} columns.", nameof(data));
        }

        Rows = data.Length / columns;
        Columns = columns;
        _data = data;
    }

    public int Rows { get; }

    public int Columns { get; }

    public double this[int row, int column]
    {
        get => _data[(row * Columns) + column];
        set => _data[(row * Columns) + column] = value;
    }

    public Span<double> Row(int row) => _data.AsSpan(row * Columns, Columns);

    /// <summary>Copies the given rows, in order, into a new matrix.</summary>
    public FeatureMatrix SelectRows(ReadOnlySpan<int> rows)
    {
        var result = new FeatureMatrix(rows.Length, Columns);
        for (var i = 0; i < rows.Length; i++)
        {
            Row(rows[i]).CopyTo(result.Row(i));
        }

        return result;
    }

    /// <summary>Stacks matrices with the same column count vertically.</summary>
    public static FeatureMatrix Concat(IReadOnlyList<FeatureMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("At least one matrix is required.", nameof(parts));
        }

        var columns = parts[0].Columns;
        var result = new FeatureMatrix(parts.Sum(p => p.Rows), columns);
        var offset = 0;
        foreach (var part in parts)
        {
            if (part.Columns != columns)
            {
                throw new ArgumentException($"Column counts differ: {part.Columns} vs {columns}.", nameof(parts));
            }

            part._data.AsSpan().CopyTo(result._data.AsSpan(offset));
            offset += part._data.Length;
        }

        return result;
    }
}
