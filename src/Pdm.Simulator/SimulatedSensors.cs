using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>A catalog sensor the simulator produces, its catalog unit and its usual operating range.</summary>
public sealed record SensorChannel(string Sensor, string Unit, double NominalMin, double NominalMax);

/// <summary>The catalog sensors the simulated machines report, with their usual operating ranges.</summary>
public static class SimulatedSensors
{
    public static SensorChannel Temperature { get; } = Known("temperature", 40, 75);
    public static SensorChannel SpindleSpeed { get; } = Known("spindle_speed", 8000, 12000);
    public static SensorChannel Vibration { get; } = Known("vibration", 1, 4);
    public static SensorChannel ConveyorSpeed { get; } = Known("conveyor_speed", 10, 14);
    public static SensorChannel Efficiency { get; } = Known("efficiency", 85, 97);
    public static SensorChannel Pressure { get; } = Known("pressure", 3, 190);
    public static SensorChannel Precision { get; } = Known("precision", 1, 3);
    public static SensorChannel TestCycles { get; } = Known("test_cycles", 10_000, 60_000);
    public static SensorChannel PackagingSpeed { get; } = Known("packaging_speed", 110, 130);
    public static SensorChannel VibrationX { get; } = Known("vibration_x", 0.8, 3);
    public static SensorChannel VibrationY { get; } = Known("vibration_y", 0.8, 3);
    public static SensorChannel VibrationZ { get; } = Known("vibration_z", 0.5, 2.5);
    public static SensorChannel Flow { get; } = Known("flow", 30, 130);
    public static SensorChannel Current { get; } = Known("current", 10, 35);

    /// <summary>Every sensor above, in catalog order.</summary>
    public static IReadOnlyList<SensorChannel> All { get; } =
    [
        Temperature, SpindleSpeed, Vibration, ConveyorSpeed, Efficiency, Pressure, Precision, TestCycles,
        PackagingSpeed, VibrationX, VibrationY, VibrationZ, Flow, Current,
    ];

    // The unit comes from the platform's catalog, so simulator and ingest cannot disagree on it.
    private static SensorChannel Known(string sensor, double nominalMin, double nominalMax) =>
        SensorCatalog.TryGet(sensor, out var definition)
            ? new SensorChannel(sensor, definition.Unit, nominalMin, nominalMax)
            : throw new InvalidOperationException($"Sensor {sensor} is not in the sensor catalog.");
}
