namespace Pdm.Simulator;

/// <summary>A sensor the simulator can produce: catalog name, catalog unit and its usual operating range.</summary>
public sealed record SensorChannel(string Sensor, string Unit, double NominalMin, double NominalMax);

/// <summary>The catalog sensors the simulated machines report, with their units and usual operating ranges.</summary>
public static class SimulatedSensors
{
    public static SensorChannel Temperature { get; } = new("temperature", "degC", 40, 75);
    public static SensorChannel SpindleSpeed { get; } = new("spindle_speed", "rpm", 8000, 12000);
    public static SensorChannel Vibration { get; } = new("vibration", "mm/s", 1, 4);
    public static SensorChannel ConveyorSpeed { get; } = new("conveyor_speed", "m/min", 10, 14);
    public static SensorChannel Efficiency { get; } = new("efficiency", "%", 85, 97);
    public static SensorChannel Pressure { get; } = new("pressure", "bar", 3, 190);
    public static SensorChannel Precision { get; } = new("precision", "um", 1, 3);
    public static SensorChannel TestCycles { get; } = new("test_cycles", "count", 10_000, 60_000);
    public static SensorChannel PackagingSpeed { get; } = new("packaging_speed", "packs/min", 110, 130);
    public static SensorChannel VibrationX { get; } = new("vibration_x", "mm/s", 0.8, 3);
    public static SensorChannel VibrationY { get; } = new("vibration_y", "mm/s", 0.8, 3);
    public static SensorChannel VibrationZ { get; } = new("vibration_z", "mm/s", 0.5, 2.5);
    public static SensorChannel Flow { get; } = new("flow", "m3/h", 30, 130);
    public static SensorChannel Current { get; } = new("current", "A", 10, 35);

    /// <summary>Every sensor above, in catalog order.</summary>
    public static IReadOnlyList<SensorChannel> All { get; } =
    [
        Temperature, SpindleSpeed, Vibration, ConveyorSpeed, Efficiency, Pressure, Precision, TestCycles,
        PackagingSpeed, VibrationX, VibrationY, VibrationZ, Flow, Current,
    ];
}
