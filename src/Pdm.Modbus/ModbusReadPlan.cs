using System.Globalization;

namespace Pdm.Modbus;

/// <summary>One point inside a request: where its first register or bit sits in the request's buffer.</summary>
public sealed record ModbusPlannedPoint(ModbusPoint Point, int Offset);

/// <summary>One read request of a plan: a block of one table and the points decoded from it.</summary>
public sealed record ModbusReadRequest(ModbusTable Table, int Address, int Count, IReadOnlyList<ModbusPlannedPoint> Points)
{
    public bool IsBits => Table is ModbusTable.Coils or ModbusTable.DiscreteInputs;
}

/// <summary>A plan, or why the points cannot be read as given.</summary>
public sealed record ModbusReadPlanResult(ModbusReadPlan? Plan, IReadOnlyList<string> Problems)
{
    public bool IsValid => Plan is not null;
}

/// <summary>
/// The fewest read requests that cover a device's points: per table, in address order, neighbouring points share a
/// request while the gap between them is at most <c>maxGap</c> registers (or bits) and the request stays within
/// the protocol's limits (125 registers, 2000 bits). Reading a few unused registers is cheaper than another round trip.
/// </summary>
public sealed class ModbusReadPlan
{
    public const int DefaultMaxGap = 8;
    public const int MaxRegistersPerRead = ModbusClient.MaxReadRegisters;
    public const int MaxBitsPerRead = ModbusClient.MaxReadBits;

    private ModbusReadPlan(IReadOnlyList<ModbusReadRequest> requests, int pointCount)
    {
        Requests = requests;
        PointCount = pointCount;
    }

    /// <summary>Requests in table order, then address order.</summary>
    public IReadOnlyList<ModbusReadRequest> Requests { get; }

    public int PointCount { get; }

    /// <summary>
    /// Plans the reads of <paramref name="points"/>. Problems (empty sensor name, repeated sensor, address out of
    /// range, a non-bool type in a bit table, a scale or offset that is zero or not finite, two points sharing a
    /// register) are returned, each naming the sensor and the reason; then there is no plan.
    /// </summary>
    public static ModbusReadPlanResult Create(IReadOnlyList<ModbusPoint> points, int maxGap = DefaultMaxGap)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfNegative(maxGap);

        var problems = new List<string>();
        var sensors = new HashSet<string>(StringComparer.Ordinal);
        var valid = new List<ModbusPoint>(points.Count);
        for (var i = 0; i < points.Count; i++)
        {
            var before = problems.Count;
            Validate(points[i], i, sensors, problems);
            if (problems.Count == before)
            {
                valid.Add(points[i]);
            }
        }

        var requests = new List<ModbusReadRequest>();
        foreach (var table in valid.GroupBy(p => p.Table).OrderBy(g => g.Key))
        {
            var sorted = table.OrderBy(p => p.Address).ToList();
            var limit = IsBitTable(table.Key) ? MaxBitsPerRead : MaxRegistersPerRead;
            var block = new List<ModbusPoint>();
            var start = 0;
            var end = 0;
            foreach (var point in sorted)
            {
                if (block.Count > 0 && point.Address < end)
                {
                    var previous = block[^1];
                    problems.Add(string.Create(CultureInfo.InvariantCulture,
                        $"Point '{point.Sensor}' ({Describe(point)}) overlaps point '{previous.Sensor}' ({Describe(previous)})."));
                    continue;
                }
                var pointEnd = point.Address + Width(point);
                if (block.Count > 0 && (point.Address - end > maxGap || pointEnd - start > limit))
                {
                    requests.Add(Request(table.Key, start, end, block));
                    block = [];
                }
                if (block.Count == 0)
                {
                    start = point.Address;
                }
                block.Add(point);
                end = pointEnd;
            }
            if (block.Count > 0)
            {
                requests.Add(Request(table.Key, start, end, block));
            }
        }

        return problems.Count > 0
            ? new ModbusReadPlanResult(null, problems)
            : new ModbusReadPlanResult(new ModbusReadPlan(requests, valid.Count), []);
    }

    /// <summary>Registers (or bits) a point occupies.</summary>
    public static int Width(ModbusPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return IsBitTable(point.Table) ? 1 : ModbusValueCodec.RegisterCount(point.Type);
    }

    private static bool IsBitTable(ModbusTable table) => table is ModbusTable.Coils or ModbusTable.DiscreteInputs;

    private static ModbusReadRequest Request(ModbusTable table, int start, int end, List<ModbusPoint> block) =>
        new(table, start, end - start, [.. block.Select(p => new ModbusPlannedPoint(p, p.Address - start))]);

    private static void Validate(ModbusPoint? point, int index, HashSet<string> sensors, List<string> problems)
    {
        if (point is null)
        {
            problems.Add($"Point #{index} is missing.");
            return;
        }
        var name = string.IsNullOrWhiteSpace(point.Sensor) ? $"#{index}" : $"'{point.Sensor}'";
        void Problem(string reason) => problems.Add($"Point {name}: {reason}");

        if (string.IsNullOrWhiteSpace(point.Sensor))
        {
            Problem("sensor name is empty.");
        }
        else if (!sensors.Add(point.Sensor))
        {
            Problem("sensor is listed twice for this device.");
        }
        if (!Enum.IsDefined(point.Table))
        {
            Problem($"unknown table {(int)point.Table}.");
            return;
        }
        if (!Enum.IsDefined(point.Type))
        {
            Problem($"unknown data type {(int)point.Type}.");
            return;
        }
        if (IsBitTable(point.Table) && point.Type != ModbusDataType.Bool)
        {
            Problem($"{point.Table} hold single bits, so the type must be Bool, not {point.Type}.");
        }
        var width = Width(point);
        if (point.Address < 0 || point.Address + width > 65536)
        {
            Problem(string.Create(CultureInfo.InvariantCulture,
                $"address {point.Address} ({width} {(width == 1 ? "entry" : "registers")}) is outside 0..65535."));
        }
        if (!double.IsFinite(point.Scale) || point.Scale == 0)
        {
            Problem(string.Create(CultureInfo.InvariantCulture, $"scale {point.Scale} must be a finite, nonzero number."));
        }
        if (!double.IsFinite(point.Offset))
        {
            Problem(string.Create(CultureInfo.InvariantCulture, $"offset {point.Offset} must be a finite number."));
        }
        if (!Enum.IsDefined(point.WordOrder) || !Enum.IsDefined(point.ByteOrder))
        {
            Problem("unknown word or byte order.");
        }
    }

    private static string Describe(ModbusPoint point)
    {
        var width = Width(point);
        return width == 1
            ? string.Create(CultureInfo.InvariantCulture, $"{point.Table} {point.Address}")
            : string.Create(CultureInfo.InvariantCulture, $"{point.Table} {point.Address}..{point.Address + width - 1}, {point.Type}");
    }
}
