namespace Pdm.Modbus;

/// <summary>One decoded value: the point it came from and its engineering value.</summary>
public readonly record struct ModbusReading(ModbusPoint Point, double Value)
{
    public string Sensor => Point.Sensor;
}

/// <summary>
/// Executes a <see cref="ModbusReadPlan"/> against one device once per poll. The register and bit buffers are made
/// once, so a poll allocates nothing beyond what the caller's list needs to grow. Like the client it uses, it is for
/// one thread.
/// </summary>
public sealed class ModbusDeviceReader
{
    private readonly IModbusClient _client;
    private readonly ModbusReadPlan _plan;
    private readonly ushort[] _registers;
    private readonly bool[] _bits;
    private readonly int[] _offsets;

    public ModbusDeviceReader(IModbusClient client, ModbusReadPlan plan)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        _client = client;
        _plan = plan;
        _offsets = new int[plan.Requests.Count];
        int registers = 0, bits = 0;
        for (var i = 0; i < plan.Requests.Count; i++)
        {
            var request = plan.Requests[i];
            _offsets[i] = request.IsBits ? bits : registers;
            if (request.IsBits)
            {
                bits += request.Count;
            }
            else
            {
                registers += request.Count;
            }
        }
        _registers = new ushort[registers];
        _bits = new bool[bits];
    }

    public IModbusClient Client => _client;

    public ModbusReadPlan Plan => _plan;

    /// <summary>
    /// Sends every request of the plan, then appends one reading per point to <paramref name="readings"/>, in plan
    /// order. All or nothing: when a request fails, <see cref="ModbusException"/> is thrown before anything is added.
    /// </summary>
    public void Read(ICollection<ModbusReading> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        for (var i = 0; i < _plan.Requests.Count; i++)
        {
            var request = _plan.Requests[i];
            if (request.IsBits)
            {
                _client.ReadBits(request.Table, request.Address, _bits.AsSpan(_offsets[i], request.Count));
            }
            else
            {
                _client.ReadRegisters(request.Table, request.Address, _registers.AsSpan(_offsets[i], request.Count));
            }
        }

        for (var i = 0; i < _plan.Requests.Count; i++)
        {
            var request = _plan.Requests[i];
            // Indexing, not foreach: enumerating an IReadOnlyList through its interface would allocate an enumerator.
            for (var j = 0; j < request.Points.Count; j++)
            {
                var planned = request.Points[j];
                var start = _offsets[i] + planned.Offset;
                var value = request.IsBits
                    ? ModbusValueCodec.DecodeBit(_bits[start], planned.Point)
                    : ModbusValueCodec.Decode(_registers.AsSpan(start), planned.Point);
                readings.Add(new ModbusReading(planned.Point, value));
            }
        }
    }
}
