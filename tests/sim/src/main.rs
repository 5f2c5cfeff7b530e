fn main() {
    eprintln!("triton-sim: not implemented yet");
    std::process::exit(1);
}
