namespace Pdm.Modbus;

/// <summary>
/// A Modbus request or connection failed: the device did not answer in time, the connection broke, or the device
/// answered with an exception (then <see cref="ExceptionCode"/> says which). The message names the endpoint, unit,
/// function, address, count and libmodbus' reason.
/// </summary>
public sealed class ModbusException : Exception
{
    public ModbusException()
    {
    }

    public ModbusException(string message)
        : base(message)
    {
    }

    public ModbusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ModbusException(string message, int errno)
        : base(message)
    {
        Errno = errno;
    }

    /// <summary>errno as libmodbus left it: a system error (110 timed out, 111 refused, 104 reset) or one of its own.</summary>
    public int Errno { get; }

    /// <summary>
    /// The Modbus exception code when the device answered with one (1 illegal function, 2 illegal data address,
    /// 3 illegal data value, 4 device failure, ... 11 gateway target failed), otherwise null.
    /// </summary>
    public int? ExceptionCode => Errno is > LibModbus.ErrorBase and <= LibModbus.ErrorBase + 11 ? Errno - LibModbus.ErrorBase : null;

    /// <summary>True when the device did not answer within the response timeout.</summary>
    public bool IsTimeout => Errno == TimedOut;

    internal const int TimedOut = 110;
}
