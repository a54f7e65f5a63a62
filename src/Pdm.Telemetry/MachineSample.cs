namespace Pdm.Telemetry;

/// <summary>One sensor value of a machine sample. The sensor name is a catalog name (lower snake case).</summary>
public readonly record struct SensorValue(string Sensor, double Value);

/// <summary>
/// Everything one machine reported at one instant: the unit of telemetry after decoding.
/// Values are in the catalog unit of each sensor.
/// </summary>
public sealed record MachineSample
{
    public required string MachineId { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>Per-machine sequence number assigned by the gateway; lets the cloud spot gaps and duplicates.</summary>
    public required long Sequence { get; init; }
    public required IReadOnlyList<SensorValue> Values { get; init; }
}

/// <summary>
/// Why one message (or one sample inside it) was not accepted: <see cref="Path"/> is the JSON path of the
/// offending field (for example <c>machines[2].values.temperature</c>), <see cref="Reason"/> says what was wrong.
/// </summary>
public sealed record DecodeError(string Path, string Reason)
{
    public override string ToString() => Path.Length == 0 ? Reason : $"{Path}: {Reason}";
}

/// <summary>What the gateway and the broker tell us about a message besides its body.</summary>
/// <param name="DeviceId">IoT Hub device id the broker authenticated; used as machine id for plain device JSON.</param>
/// <param name="EnqueuedTime">When the hub received the message; the timestamp for plain JSON without one.</param>
public readonly record struct DecodeContext(string DeviceId, DateTimeOffset EnqueuedTime);

/// <summary>The outcome of decoding one message body: the samples it carried and the problems it had.</summary>
public sealed class DecodeResult
{
    public List<MachineSample> Samples { get; } = [];
    public List<DecodeError> Errors { get; } = [];
    /// <summary>The <c>gateway</c> of a v1 message, if it named one.</summary>
    public string? GatewayId { get; internal set; }
    public bool IsClean => Errors.Count == 0;
}
