namespace Pdm.Modbus.Tests;

public class ModbusReadPlanTests
{
    private static ModbusPoint Point(string sensor, ModbusTable table, int address, ModbusDataType type = ModbusDataType.UInt16) =>
        new() { Sensor = sensor, Table = table, Address = address, Type = type };

    private static ModbusReadPlan Plan(IReadOnlyList<ModbusPoint> points, int maxGap = ModbusReadPlan.DefaultMaxGap)
    {
        var result = ModbusReadPlan.Create(points, maxGap);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        return result.Plan!;
    }

    [Fact]
    public void Neighbouring_points_share_one_request_per_table()
    {
        var plan = Plan(
        [
            Point("c", ModbusTable.HoldingRegisters, 14, ModbusDataType.Float32),
            Point("a", ModbusTable.HoldingRegisters, 10),
            Point("b", ModbusTable.HoldingRegisters, 11, ModbusDataType.Int16),
            Point("d", ModbusTable.InputRegisters, 0, ModbusDataType.Float64),
            Point("e", ModbusTable.Coils, 3, ModbusDataType.Bool),
            Point("f", ModbusTable.Coils, 5, ModbusDataType.Bool),
        ]);

        Assert.Equal(
        [
            (ModbusTable.HoldingRegisters, 10, 6),
            (ModbusTable.InputRegisters, 0, 4),
            (ModbusTable.Coils, 3, 3),
        ], plan.Requests.Select(r => (r.Table, r.Address, r.Count)));
        Assert.Equal(["a", "b", "c"], plan.Requests[0].Points.Select(p => p.Point.Sensor));
        Assert.Equal([0, 1, 4], plan.Requests[0].Points.Select(p => p.Offset));
        Assert.Equal(6, plan.PointCount);
    }

    [Fact]
    public void A_gap_wider_than_the_maximum_starts_a_new_request()
    {
        ModbusPoint[] points =
        [
            Point("a", ModbusTable.HoldingRegisters, 0),
            Point("b", ModbusTable.HoldingRegisters, 9), // gap 8 after a: same request
            Point("c", ModbusTable.HoldingRegisters, 19), // gap 9 after b: new request
        ];

        Assert.Equal([(0, 10), (19, 1)], Plan(points).Requests.Select(r => (r.Address, r.Count)));
        Assert.Equal([(0, 1), (9, 1), (19, 1)], Plan(points, maxGap: 0).Requests.Select(r => (r.Address, r.Count)));
        Assert.Single(Plan(points, maxGap: 9).Requests);
    }

    [Fact]
    public void Register_requests_stay_within_125_registers()
    {
        // 40 float64 points back to back: 160 registers.
        var points = Enumerable.Range(0, 40).Select(i => Point($"p{i}", ModbusTable.HoldingRegisters, 1000 + (4 * i), ModbusDataType.Float64)).ToList();

        var requests = Plan(points).Requests;

        Assert.Equal([(1000, 124), (1124, 36)], requests.Select(r => (r.Address, r.Count)));
        Assert.All(requests, r => Assert.InRange(r.Count, 1, ModbusReadPlan.MaxRegistersPerRead));
        Assert.Equal(40, requests.Sum(r => r.Points.Count));
    }

    [Fact]
    public void Bit_requests_stay_within_2000_bits()
    {
        var points = Enumerable.Range(0, 500).Select(i => Point($"b{i}", ModbusTable.DiscreteInputs, 5 * i, ModbusDataType.Bool)).ToList();

        var requests = Plan(points).Requests;

        Assert.Equal([(0, 1996), (2000, 496)], requests.Select(r => (r.Address, r.Count)));
    }

    [Fact]
    public void Overlapping_points_are_rejected_naming_both()
    {
        var result = ModbusReadPlan.Create(
        [
            Point("flow", ModbusTable.HoldingRegisters, 10, ModbusDataType.Float32),
            Point("level", ModbusTable.HoldingRegisters, 11),
            Point("same_address_other_table", ModbusTable.InputRegisters, 11),
        ]);

        Assert.False(result.IsValid);
        Assert.Null(result.Plan);
        Assert.Equal(["Point 'level' (HoldingRegisters 11) overlaps point 'flow' (HoldingRegisters 10..11, Float32)."], result.Problems);
    }

    [Fact]
    public void Invalid_points_are_rejected_with_sensor_and_reason()
    {
        var result = ModbusReadPlan.Create(
        [
            Point("", ModbusTable.HoldingRegisters, 0),
            Point("motor_on", ModbusTable.Coils, 0, ModbusDataType.Int16),
            Point("tail", ModbusTable.HoldingRegisters, 65535, ModbusDataType.Float32),
            Point("negative", ModbusTable.InputRegisters, -1),
            Point("tail", ModbusTable.InputRegisters, 100),
            Point("flat", ModbusTable.InputRegisters, 200) with { Scale = 0 },
            Point("nan", ModbusTable.InputRegisters, 300) with { Offset = double.NaN },
        ]);

        Assert.False(result.IsValid);
        Assert.Equal(
        [
            "Point #0: sensor name is empty.",
            "Point 'motor_on': Coils hold single bits, so the type must be Bool, not Int16.",
            "Point 'tail': address 65535 (2 registers) is outside 0..65535.",
            "Point 'negative': address -1 (1 entry) is outside 0..65535.",
            "Point 'tail': sensor is listed twice for this device.",
            "Point 'flat': scale 0 must be a finite, nonzero number.",
            "Point 'nan': offset NaN must be a finite number.",
        ], result.Problems);
    }

    [Fact]
    public void No_points_make_an_empty_plan() =>
        Assert.Empty(Plan([]).Requests);

    [Fact]
    public void A_negative_max_gap_is_a_programming_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusReadPlan.Create([], maxGap: -1));
}
