using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pdm.Modbus;

namespace Pdm.Simulator.Plc;

/// <summary>
/// A Modbus server (slave) on libmodbus that exposes four tables of 65536 entries each (coils, discrete inputs,
/// holding and input registers, all starting at address 0 and zero at first). Clients read them and write coils and
/// holding registers; the owner sets any table from any thread with <see cref="SetRegisters"/>, <see cref="SetBits"/>
/// or <see cref="Write"/> and reads back what clients wrote with <see cref="GetRegisters"/>, <see cref="GetBits"/> or
/// <see cref="Read"/>. Each request is answered under the same lock, so a client never sees half of a multi-register
/// value that is being updated.
/// </summary>
/// <remarks>
/// <para>TCP (<see cref="StartTcp"/>): one thread accepts, one thread per connected client answers it; the server
/// answers any unit id. RTU (<see cref="StartRtu"/>): one thread serves the serial line and answers only its unit id.</para>
/// <para><see cref="Dispose"/> wakes every thread through a pipe, waits for them (a thread in the middle of a request
/// finishes it first, within libmodbus' 0.5 s byte timeout), closes the sockets and frees the tables; connected
/// clients see their connection closed.</para>
/// <para>To expose several devices, start one server per device (one TCP port or serial line each).</para>
/// </remarks>
public sealed partial class ModbusServer : IDisposable
{
    /// <summary>Entries in each table; every address 0-65535 is valid.</summary>
    public const int TableSize = 65536;

    private const int AcceptRetryMilliseconds = 100;

    private readonly ILogger _logger;
    private readonly Lock _tablesLock = new();
    private readonly Lock _connectionsLock = new();
    private readonly List<Thread> _connections = [];
    private readonly (int Read, int Write) _wake;
    private readonly string _host = "";
    private readonly string _service = "";
    private unsafe LibModbusSlave.Mapping* _mapping;
    private IntPtr _ctx;
    private int _listenFd = -1;
    private Thread? _thread;
    private int _clientCount;
    private int _disposed;

    private unsafe ModbusServer(ModbusEndpoint endpoint, ILogger? logger)
    {
        Endpoint = endpoint;
        _logger = logger ?? NullLogger.Instance;
        _mapping = LibModbusSlave.MappingNew(0, TableSize, 0, TableSize, 0, TableSize, 0, TableSize);
        if (_mapping == null)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new ModbusException($"Cannot allocate the Modbus tables for {endpoint}: {LibModbus.Describe(errno)} (errno {errno})", errno);
        }
        _wake = Posix.CreatePipe();
        if (endpoint is ModbusTcpEndpoint tcp)
        {
            _host = tcp.Host;
            _service = tcp.Port.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Where clients reach this server; for TCP, with the port actually bound (useful after port 0).</summary>
    public ModbusEndpoint Endpoint { get; private set; }

    /// <summary>TCP clients connected right now (always 0 for RTU).</summary>
    public int ClientCount => Volatile.Read(ref _clientCount);

    /// <summary>Listens on <paramref name="host"/>:<paramref name="port"/> and serves clients until disposed.</summary>
    /// <param name="host">Address to bind, for example 127.0.0.1 (or 0.0.0.0 for every interface).</param>
    /// <param name="port">TCP port; 0 lets the system pick one, then <see cref="Endpoint"/> tells which.</param>
    /// <exception cref="ModbusException">The address cannot be bound (errno 98: already in use).</exception>
    public static ModbusServer StartTcp(string host, int port, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var server = new ModbusServer(new ModbusTcpEndpoint(host, port), logger);
        try
        {
            server.Listen();
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    /// <summary>Opens the serial line and answers requests for <paramref name="unitId"/> until disposed.</summary>
    /// <exception cref="ModbusException">The serial line cannot be opened or configured.</exception>
    public static ModbusServer StartRtu(ModbusRtuEndpoint endpoint, int unitId, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(unitId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(unitId, 247);
        var server = new ModbusServer(endpoint, logger);
        try
        {
            server.OpenSerial(endpoint, unitId);
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return server;
    }

    /// <summary>Sets holding or input registers starting at <paramref name="address"/>.</summary>
    public unsafe void SetRegisters(ModbusTable table, int address, ReadOnlySpan<ushort> values)
    {
        lock (_tablesLock)
        {
            values.CopyTo(Registers(table, address, values.Length));
        }
    }

    /// <summary>Copies holding or input registers starting at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    public unsafe void GetRegisters(ModbusTable table, int address, Span<ushort> destination)
    {
        lock (_tablesLock)
        {
            Registers(table, address, destination.Length).CopyTo(destination);
        }
    }

    /// <summary>Sets coils or discrete inputs starting at <paramref name="address"/>.</summary>
    public unsafe void SetBits(ModbusTable table, int address, ReadOnlySpan<bool> values)
    {
        lock (_tablesLock)
        {
            // libmodbus keeps one byte, 0 or 1, per bit: the layout of a .NET bool.
            MemoryMarshal.AsBytes(values).CopyTo(Bits(table, address, values.Length));
        }
    }

    /// <summary>Copies coils or discrete inputs starting at <paramref name="address"/> into <paramref name="destination"/>.</summary>
    public unsafe void GetBits(ModbusTable table, int address, Span<bool> destination)
    {
        lock (_tablesLock)
        {
            var bits = Bits(table, address, destination.Length);
            for (var i = 0; i < bits.Length; i++)
            {
                destination[i] = bits[i] != 0;
            }
        }
    }

    /// <summary>
    /// Stores <paramref name="engineeringValue"/> where and how <paramref name="point"/> says (type, word and byte order;
    /// raw = (value − offset) / scale). For a bit table, a nonzero raw value sets the bit.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value does not fit the point's type or address range.</exception>
    public void Write(ModbusPoint point, double engineeringValue)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (IsBitTable(point.Table))
        {
            ReadOnlySpan<bool> bit = [(engineeringValue - point.Offset) / point.Scale != 0];
            SetBits(point.Table, point.Address, bit);
            return;
        }
        Span<ushort> registers = stackalloc ushort[4];
        registers = registers[..ModbusValueCodec.RegisterCount(point.Type)];
        ModbusValueCodec.Encode(engineeringValue, point, registers);
        SetRegisters(point.Table, point.Address, registers);
    }

    /// <summary>The engineering value now stored for <paramref name="point"/> (for example a setpoint a client wrote).</summary>
    public double Read(ModbusPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (IsBitTable(point.Table))
        {
            Span<bool> bit = stackalloc bool[1];
            GetBits(point.Table, point.Address, bit);
            return ModbusValueCodec.DecodeBit(bit[0], point);
        }
        Span<ushort> registers = stackalloc ushort[4];
        registers = registers[..ModbusValueCodec.RegisterCount(point.Type)];
        GetRegisters(point.Table, point.Address, registers);
        return ModbusValueCodec.Decode(registers, point);
    }

    public unsafe void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        Posix.Signal(_wake.Write);
        _thread?.Join();
        Thread[] connections;
        lock (_connectionsLock)
        {
            connections = [.. _connections];
        }
        foreach (var connection in connections)
        {
            connection.Join();
        }

        if (_listenFd >= 0)
        {
            Posix.Close(_listenFd);
            _listenFd = -1;
        }
        if (_ctx != IntPtr.Zero)
        {
            LibModbus.Close(_ctx);
            LibModbus.Free(_ctx);
            _ctx = IntPtr.Zero;
        }
        Posix.Close(_wake.Read);
        Posix.Close(_wake.Write);
        lock (_tablesLock)
        {
            LibModbusSlave.MappingFree(_mapping);
            _mapping = null;
        }
        if (_thread is not null)
        {
            Log.ServerStopped(_logger, Endpoint);
        }
    }

    public override string ToString() => $"Modbus server at {Endpoint}";

    private void Listen()
    {
        _ctx = LibModbus.NewTcpPi(_host, _service);
        if (_ctx == IntPtr.Zero)
        {
            throw LastError($"Cannot create a Modbus TCP context for {Endpoint}");
        }
        _listenFd = LibModbusSlave.TcpPiListen(_ctx, 16);
        if (_listenFd < 0)
        {
            throw LastError($"Cannot listen at {Endpoint}");
        }
        Endpoint = new ModbusTcpEndpoint(_host, Posix.LocalPort(_listenFd));
        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = $"modbus-accept {Endpoint}" };
        _thread.Start();
        Log.ServerStarted(_logger, Endpoint);
    }

    private void OpenSerial(ModbusRtuEndpoint endpoint, int unitId)
    {
        _ctx = LibModbus.NewRtu(endpoint.SerialPort, endpoint.BaudRate, (byte)endpoint.Parity, endpoint.DataBits, endpoint.StopBits);
        if (_ctx == IntPtr.Zero)
        {
            throw LastError($"Cannot create a Modbus RTU context for {endpoint}");
        }
        // Protocol recovery flushes the line after a frame with a bad CRC, so the next request starts clean.
        if (LibModbus.SetSlave(_ctx, unitId) != 0 || LibModbus.SetErrorRecovery(_ctx, LibModbus.ErrorRecoveryProtocol) != 0)
        {
            throw LastError($"Cannot configure unit {unitId} on {endpoint}");
        }
        if (LibModbus.Connect(_ctx) != 0)
        {
            var error = LastError($"Cannot open {endpoint}");
            LibModbus.Free(_ctx);
            _ctx = IntPtr.Zero;
            throw error;
        }
        _thread = new Thread(() => SerialLoop(unitId)) { IsBackground = true, Name = $"modbus-rtu {endpoint.SerialPort}" };
        _thread.Start();
        Log.ServerStarted(_logger, Endpoint);
    }

    private void AcceptLoop()
    {
        while (true)
        {
            if (Posix.Wait(_listenFd, _wake.Read, -1) < 0)
            {
                return;
            }
            var socket = LibModbusSlave.TcpPiAccept(_ctx, ref _listenFd);
            var errno = Marshal.GetLastPInvokeError();
            // accept makes the new socket the listening context's own; each connection gets a context of its own instead.
            LibModbus.SetSocket(_ctx, -1);
            if (socket < 0)
            {
                Log.AcceptFailed(_logger, Endpoint, new ModbusErrno(errno));
                if (_listenFd < 0)
                {
                    return; // libmodbus closed the listening socket after the failure: nothing more to accept.
                }
                if (Posix.Wait(-1, _wake.Read, AcceptRetryMilliseconds) < 0)
                {
                    return;
                }
                continue;
            }

            var ctx = LibModbus.NewTcpPi(_host, _service);
            if (ctx == IntPtr.Zero)
            {
                errno = Marshal.GetLastPInvokeError();
                Posix.Close(socket);
                Log.AcceptFailed(_logger, Endpoint, new ModbusErrno(errno));
                continue;
            }
            LibModbus.SetSocket(ctx, socket);
            var thread = new Thread(() => Serve(ctx, socket)) { IsBackground = true, Name = $"modbus-client {Endpoint}" };
            lock (_connectionsLock)
            {
                _connections.Add(thread);
            }
            Interlocked.Increment(ref _clientCount);
            Log.ClientConnected(_logger, Endpoint, socket);
            thread.Start();
        }
    }

    private unsafe void Serve(IntPtr ctx, int socket)
    {
        var request = stackalloc byte[LibModbusSlave.TcpMaxAduLength];
        object reason = "server stopping";
        try
        {
            while (Posix.Wait(socket, _wake.Read, -1) >= 0)
            {
                var length = LibModbusSlave.Receive(ctx, request);
                if (length < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    reason = new ModbusErrno(errno);
                    break;
                }
                if (length > 0 && Reply(ctx, request, length) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    reason = new ModbusErrno(errno);
                    break;
                }
            }
        }
        finally
        {
            LibModbus.Close(ctx);
            LibModbus.Free(ctx);
            Interlocked.Decrement(ref _clientCount);
            lock (_connectionsLock)
            {
                _connections.Remove(Thread.CurrentThread);
            }
            Log.ClientDisconnected(_logger, Endpoint, socket, reason);
        }
    }

    private unsafe void SerialLoop(int unitId)
    {
        var request = stackalloc byte[LibModbusSlave.RtuMaxAduLength];
        int events;
        while ((events = Posix.Wait(LibModbus.GetSocket(_ctx), _wake.Read, -1)) >= 0)
        {
            if ((events & Posix.PollIn) == 0 && (events & (Posix.PollHup | Posix.PollErr | Posix.PollNval)) != 0)
            {
                Log.SerialLineClosed(_logger, Endpoint, events);
                return;
            }
            var length = LibModbusSlave.Receive(_ctx, request);
            if (length < 0)
            {
                // A damaged or incomplete frame: the master times out and asks again.
                var errno = Marshal.GetLastPInvokeError();
                Log.RequestDropped(_logger, Endpoint, unitId, new ModbusErrno(errno));
                continue;
            }
            if (length > 0)
            {
                Reply(_ctx, request, length);
            }
        }
    }

    private unsafe int Reply(IntPtr ctx, byte* request, int length)
    {
        lock (_tablesLock)
        {
            return LibModbusSlave.Reply(ctx, request, length, _mapping);
        }
    }

    private unsafe Span<ushort> Registers(ModbusTable table, int address, int count)
    {
        CheckRange(address, count);
        var mapping = Mapping();
        var start = table switch
        {
            ModbusTable.HoldingRegisters => mapping->TabRegisters,
            ModbusTable.InputRegisters => mapping->TabInputRegisters,
            _ => throw new ArgumentException($"{table} holds bits; use the bit methods.", nameof(table)),
        };
        return new Span<ushort>(start + address, count);
    }

    private unsafe Span<byte> Bits(ModbusTable table, int address, int count)
    {
        CheckRange(address, count);
        var mapping = Mapping();
        var start = table switch
        {
            ModbusTable.Coils => mapping->TabBits,
            ModbusTable.DiscreteInputs => mapping->TabInputBits,
            _ => throw new ArgumentException($"{table} holds registers; use the register methods.", nameof(table)),
        };
        return new Span<byte>(start + address, count);
    }

    private unsafe LibModbusSlave.Mapping* Mapping()
    {
        ObjectDisposedException.ThrowIf(_mapping == null, this);
        return _mapping;
    }

    private static void CheckRange(int address, int count)
    {
        if (address < 0 || address + count > TableSize)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, $"Addresses {address}..{address + count - 1} are outside 0..{TableSize - 1}.");
        }
    }

    private static bool IsBitTable(ModbusTable table) => table is ModbusTable.Coils or ModbusTable.DiscreteInputs;

    private static ModbusException LastError(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new ModbusException($"{what}: {LibModbus.Describe(errno)} (errno {errno})", errno);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = LogEvents.ServerStarted, Level = LogLevel.Information, Message = "Modbus server started at {Endpoint}")]
        public static partial void ServerStarted(ILogger logger, ModbusEndpoint endpoint);

        [LoggerMessage(EventId = LogEvents.ServerStopped, Level = LogLevel.Information, Message = "Modbus server at {Endpoint} stopped")]
        public static partial void ServerStopped(ILogger logger, ModbusEndpoint endpoint);

        [LoggerMessage(EventId = LogEvents.ClientConnected, Level = LogLevel.Debug, Message = "Modbus client connected to {Endpoint} (socket {Socket})")]
        public static partial void ClientConnected(ILogger logger, ModbusEndpoint endpoint, int socket);

        [LoggerMessage(EventId = LogEvents.ClientDisconnected, Level = LogLevel.Debug,
            Message = "Modbus client left {Endpoint} (socket {Socket}): {Reason}")]
        public static partial void ClientDisconnected(ILogger logger, ModbusEndpoint endpoint, int socket, object reason);

        [LoggerMessage(EventId = LogEvents.AcceptFailed, Level = LogLevel.Warning,
            Message = "Modbus server at {Endpoint} could not accept a client: {Reason}")]
        public static partial void AcceptFailed(ILogger logger, ModbusEndpoint endpoint, ModbusErrno reason);

        [LoggerMessage(EventId = LogEvents.RequestDropped, Level = LogLevel.Debug,
            Message = "Modbus server at {Endpoint} unit {UnitId} dropped a request: {Reason}")]
        public static partial void RequestDropped(ILogger logger, ModbusEndpoint endpoint, int unitId, ModbusErrno reason);

        [LoggerMessage(EventId = LogEvents.SerialLineClosed, Level = LogLevel.Warning,
            Message = "Modbus server at {Endpoint} stops: the serial line closed (poll events {Events})")]
        public static partial void SerialLineClosed(ILogger logger, ModbusEndpoint endpoint, int events);
    }
}
