namespace Pdm.Analytics.Data;

/// <summary>How <see cref="SensorCsvReader"/> reads a sensor CSV.</summary>
public sealed record CsvReadOptions
{
    /// <summary>Name of the time column; null takes the first column.</summary>
    public string? TimeColumn { get; init; }

    /// <summary>
    /// A text column naming the unit (machine, engine, run) of each row: read as written, not parsed, and not a feature.
    /// Null: the file is one unit.
    /// </summary>
    public string? KeyColumn { get; init; }

    /// <summary>A text column holding a class label (a health state): read as written, not a feature.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Columns that are neither time nor features (labels, ids); they are skipped without parsing.</summary>
    public IReadOnlyCollection<string> IgnoreColumns { get; init; } = [];

    /// <summary>Reading a whole table stops after this many errors.</summary>
    public int MaxErrors { get; init; } = 20;
}

/// <summary>
/// One problem in a CSV. <see cref="Row"/> is the spreadsheet row: the header is row 1, the first data row is row 2
/// (a record spanning lines inside quotes counts as one row). <see cref="Column"/> is null for whole-row problems.
/// </summary>
public sealed record CsvError(int Row, string? Column, string Message)
{
    public override string ToString() => Message;
}
