// sandbox-init: PID 1 of every sandbox, container or micro-VM. See docs/init.md.
Console.Error.WriteLine("sandbox-init: not implemented yet");
return 125;
